"""The outbox services inside the test's transaction: enqueue, deliver, sweep. Publishing a
task is recorded by the `queued` fixture; sending goes to Django's in-memory mailbox."""

import logging
from datetime import timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from modelspec_site.audit.services import audit_record
from modelspec_site.outbox import services
from modelspec_site.outbox.models import OutboxMessage, Status
from modelspec_site.outbox.services import (
    MAX_ATTEMPTS,
    Outcome,
    message_id_for,
    outbox_deliver,
    outbox_enqueue,
    outbox_sweep,
)

pytestmark = pytest.mark.django_db

BROKEN_MAILER = {"default": {"BACKEND": "tests.outbox.test_services.BrokenMailer"}}


class BrokenMailer(BaseEmailBackend):
    """A mail server that drops every connection."""

    def send_messages(self, messages):
        raise SMTPServerDisconnected("mail server went away")


class WorkerKilled(BaseException):
    """Stands in for the process dying mid-send: not an Exception, so nothing catches it."""


class KillingMailer(BaseEmailBackend):
    def send_messages(self, messages):
        raise WorkerKilled


def enqueue(event, recipient="reader@example.org", kind="test.note", **extra):
    fields = {"subject": "Hello", "body_text": "Plain", "body_html": "<p>HTML</p>"} | extra
    with transaction.atomic():
        return outbox_enqueue(event=event, recipient=recipient, kind=kind, **fields)


def make_due(message, **changes):
    """Move a message's next attempt into the past (time passing), with other changes."""
    changes.setdefault("next_attempt_at", timezone.now() - timedelta(seconds=1))
    OutboxMessage.objects.filter(pk=message.pk).update(**changes)


# --- enqueue ---


def test_enqueue_writes_one_pending_message_due_now(event):
    before = timezone.now()
    message = enqueue(event)
    message.refresh_from_db()
    assert (message.event_seq, message.recipient, message.kind) == (
        event.seq,
        "reader@example.org",
        "test.note",
    )
    assert (message.status, message.attempts, message.sent_at) == (Status.PENDING, 0, None)
    assert before <= message.next_attempt_at <= timezone.now()


def test_one_message_per_event_recipient_and_kind(event):
    first = enqueue(event, subject="First")
    again = enqueue(event, subject="Second")
    same_address = enqueue(event, recipient="  reader@EXAMPLE.org ")
    assert first.pk == again.pk == same_address.pk
    assert OutboxMessage.objects.count() == 1
    assert OutboxMessage.objects.get().subject == "First"  # the first write stands

    enqueue(event, recipient="other@example.org")
    enqueue(event, kind="test.other")
    with transaction.atomic():
        later = audit_record(actor="system", action="test.happened")
    enqueue(later)
    assert OutboxMessage.objects.count() == 4


def test_the_message_commits_and_rolls_back_with_the_event(
    django_capture_on_commit_callbacks, queued
):
    class Abort(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Abort),
        transaction.atomic(),
    ):
        event = audit_record(actor="system", action="test.happened")
        outbox_enqueue(event=event, recipient="a@example.org", kind="k", subject="s", body_text="b")
        raise Abort
    assert OutboxMessage.objects.count() == 0
    assert callbacks == []
    assert queued == []


def test_delivery_is_queued_once_the_transaction_commits(
    event, django_capture_on_commit_callbacks, queued
):
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(event)
        assert queued == []  # nothing leaves before the commit
    assert queued == [message.pk]


def test_a_broker_that_is_down_does_not_break_the_caller(
    event, django_capture_on_commit_callbacks, queued, caplog
):
    queued.fail = OperationalError("Error 111 connecting to broker")
    with (
        caplog.at_level(logging.WARNING, logger="modelspec_site.outbox.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = enqueue(event)
    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert "the sweep will retry" in caplog.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recipient", "not an address"),
        ("recipient", "a@example.org, b@example.org"),
        ("subject", "Hello\r\nBcc: victim@example.org"),
        ("headers", {"X-Note": "a\nBcc: victim@example.org"}),
        ("subject", "x" * 256),
        ("recipient", "a" * 64 + "@" + ("b" * 63 + ".") * 3 + "org"),  # valid, but 260 chars
    ],
)
def test_invalid_addresses_and_header_injection_are_refused(event, field, value):
    arguments = {
        "event": event,
        "recipient": "a@example.org",
        "kind": "k",
        "subject": "s",
        "body_text": "b",
    } | {field: value}
    with pytest.raises(ValueError), transaction.atomic():
        outbox_enqueue(**arguments)
    assert OutboxMessage.objects.count() == 0


# --- deliver ---


def test_deliver_sends_exactly_one_email_and_marks_it_sent(event):
    message = enqueue(event, headers={"Auto-Submitted": "auto-generated"})
    assert outbox_deliver(message_id=message.pk) == Outcome.SENT

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (sent.to, sent.subject, sent.body) == (["reader@example.org"], "Hello", "Plain")
    assert sent.alternatives[0].content == "<p>HTML</p>"
    assert sent.alternatives[0].mimetype == "text/html"
    headers = sent.message()
    assert headers["Message-ID"] == message_id_for(
        event_seq=event.seq, recipient="reader@example.org", kind="test.note"
    )
    assert headers["Auto-Submitted"] == "auto-generated"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (Status.SENT, 1, "")
    assert message.sent_at is not None

    # Again, and again after its next attempt time: nothing more is sent.
    assert outbox_deliver(message_id=message.pk) == Outcome.SKIPPED
    make_due(message)
    assert outbox_deliver(message_id=message.pk) == Outcome.SKIPPED
    assert len(mail.outbox) == 1


def test_message_id_depends_only_on_event_recipient_and_kind():
    one = message_id_for(event_seq=7, recipient="a@example.org", kind="feedback.receipt")
    assert one == message_id_for(event_seq=7, recipient="a@example.org", kind="feedback.receipt")
    assert one != message_id_for(event_seq=8, recipient="a@example.org", kind="feedback.receipt")
    assert one != message_id_for(event_seq=7, recipient="b@example.org", kind="feedback.receipt")
    assert one != message_id_for(event_seq=7, recipient="a@example.org", kind="other")
    assert "a@example.org" not in one
    assert one.startswith("<outbox.7.") and one.endswith("@localhost>")


def test_a_missing_message_is_not_an_error():
    assert outbox_deliver(message_id=999_999_999) == Outcome.BUSY


def test_a_failing_mailer_is_recorded_and_retried_with_back_off(event, settings):
    settings.MAILERS = BROKEN_MAILER
    message = enqueue(event)

    before = timezone.now()
    assert outbox_deliver(message_id=message.pk) == Outcome.RETRY  # no exception
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.PENDING, 1)
    assert message.last_error == "SMTPServerDisconnected: mail server went away"
    assert before + timedelta(minutes=1) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(minutes=1)

    # Before the back-off has passed, another delivery does nothing and uses no attempt.
    assert outbox_deliver(message_id=message.pk) == Outcome.NOT_DUE
    message.refresh_from_db()
    assert message.attempts == 1

    make_due(message)
    before = timezone.now()
    assert outbox_deliver(message_id=message.pk) == Outcome.RETRY
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at >= before + timedelta(minutes=2)  # doubled

    # The last allowed attempt fails: the message is given up, kept for staff.
    make_due(message, attempts=MAX_ATTEMPTS - 1)
    assert outbox_deliver(message_id=message.pk) == Outcome.FAILED
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.FAILED, MAX_ATTEMPTS)
    assert mail.outbox == []

    # The mail server is back: a given-up message stays given up.
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    make_due(message)
    assert outbox_deliver(message_id=message.pk) == Outcome.SKIPPED
    assert mail.outbox == []


def test_a_failed_attempt_then_a_working_mailer_sends_once(event, settings):
    settings.MAILERS = BROKEN_MAILER
    message = enqueue(event)
    assert outbox_deliver(message_id=message.pk) == Outcome.RETRY
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    make_due(message)
    assert outbox_deliver(message_id=message.pk) == Outcome.SENT
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (Status.SENT, 2, "")
    assert len(mail.outbox) == 1


def test_the_attempt_is_on_record_before_sending(event, settings):
    """A worker that dies mid-send has still used up an attempt: the claim committed first."""
    settings.MAILERS = {"default": {"BACKEND": "tests.outbox.test_services.KillingMailer"}}
    message = enqueue(event)
    with pytest.raises(WorkerKilled):
        outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.PENDING, 1)
    assert message.next_attempt_at > timezone.now()  # leased: a redelivery now does nothing
    assert outbox_deliver(message_id=message.pk) == Outcome.NOT_DUE


def test_a_message_that_keeps_killing_its_worker_is_quarantined(event, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.outbox.test_services.KillingMailer"}}
    message = enqueue(event)
    for _ in range(MAX_ATTEMPTS):
        make_due(message)
        with pytest.raises(WorkerKilled):
            outbox_deliver(message_id=message.pk)
    make_due(message)
    assert outbox_deliver(message_id=message.pk) == Outcome.QUARANTINED
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.FAILED, MAX_ATTEMPTS)
    assert message.last_error.startswith("quarantined")
    make_due(message)
    assert outbox_deliver(message_id=message.pk) == Outcome.SKIPPED  # no further sends


def test_backoff_doubles_up_to_a_cap():
    assert [services.backoff(n) for n in (1, 2, 3)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
    ]
    assert services.backoff(30) == services.BACKOFF_CAP


# --- sweep ---


def test_sweep_queues_due_pending_messages_only(event, queued):
    due = enqueue(event, recipient="due@example.org")
    failed_before = enqueue(event, recipient="retry@example.org")
    make_due(failed_before, attempts=2, last_error="x")
    backing_off = enqueue(event, recipient="later@example.org")
    make_due(backing_off, attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=5))
    sent = enqueue(event, recipient="sent@example.org")
    assert outbox_deliver(message_id=sent.pk) == Outcome.SENT
    make_due(sent)
    given_up = enqueue(event, recipient="failed@example.org")
    make_due(given_up, status=Status.FAILED)

    assert outbox_sweep() == 2
    assert sorted(queued) == sorted([due.pk, failed_before.pk])

    # The queued tasks then deliver each of them once.
    for message_id in queued:
        assert outbox_deliver(message_id=message_id) == Outcome.SENT
    assert sorted(m.to[0] for m in mail.outbox) == [
        "due@example.org",
        "retry@example.org",
        "sent@example.org",
    ]


def test_sweep_is_bounded_and_oldest_first(event, queued):
    messages = [enqueue(event, recipient=f"r{n}@example.org") for n in range(3)]
    now = timezone.now()
    for age, message in zip((1, 3, 2), messages, strict=True):
        make_due(message, next_attempt_at=now - timedelta(minutes=age))
    assert outbox_sweep(limit=2) == 2
    assert queued == [messages[1].pk, messages[2].pk]


def test_sweep_stops_while_the_broker_is_down(event, queued, caplog):
    for n in range(3):
        enqueue(event, recipient=f"r{n}@example.org")
    queued.fail = OperationalError("Error 111 connecting to broker")
    with caplog.at_level(logging.WARNING, logger="modelspec_site.outbox.services"):
        assert outbox_sweep() == 0
    assert caplog.text.count("could not queue delivery") == 1  # one try, then it stops
    assert OutboxMessage.objects.filter(status=Status.PENDING).count() == 3
