"""Outbox behaviour that needs real commits and a second database connection (no broker)."""

import threading

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.db import connection, transaction

from feedback.services import feedback_submit
from modelspec_site.audit.services import audit_record
from modelspec_site.outbox.models import OutboxMessage, Status
from modelspec_site.outbox.services import Outcome, outbox_deliver, outbox_enqueue

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_SECONDS = 20


def committed_message(**fields) -> OutboxMessage:
    with transaction.atomic():
        event = audit_record(actor="system", action="test.happened")
        return outbox_enqueue(
            event=event,
            recipient="a@example.org",
            kind="test.note",
            subject="s",
            body_text="b",
            **fields,
        )


def test_enqueue_outside_a_transaction_is_refused():
    with transaction.atomic():
        event = audit_record(actor="system", action="test.happened")
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match="inside the transaction"):
        outbox_enqueue(event=event, recipient="a@example.org", kind="k", subject="s", body_text="b")
    assert OutboxMessage.objects.count() == 0


def test_commit_queues_delivery_once(queued):
    message = committed_message()
    assert queued == [message.pk]


def test_a_message_locked_by_another_worker_is_left_to_it(queued):
    message = committed_message()
    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_worker() -> None:
        try:
            with transaction.atomic():
                OutboxMessage.objects.select_for_update().get(pk=message.pk)
                locked.set()
                release.wait(TIMEOUT_SECONDS)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(TIMEOUT_SECONDS)
        assert outbox_deliver(message_id=message.pk) == Outcome.BUSY  # no waiting, no send
        message.refresh_from_db()
        assert (message.status, message.attempts) == (Status.PENDING, 0)
        assert mail.outbox == []
    finally:
        release.set()
        thread.join(TIMEOUT_SECONDS)
    assert errors == []
    assert outbox_deliver(message_id=message.pk) == Outcome.SENT
    assert len(mail.outbox) == 1


@pytest.mark.usefixtures("eager_tasks")
def test_without_a_broker_the_receipt_is_sent_in_process_after_commit(make_submission):
    """`make run` without Redis runs tasks eagerly: the same path, inside the request."""
    with transaction.atomic():
        result = feedback_submit(
            acting_user=AnonymousUser(),
            submission=make_submission(submitter_email="eager@example.org"),
        )
        assert mail.outbox == []  # not before the commit
    assert [m.to for m in mail.outbox] == [["eager@example.org"]]
    assert mail.outbox[0].subject == f"Feedback received: {result.item.tracking_number}"
    assert OutboxMessage.objects.get().status == Status.SENT
