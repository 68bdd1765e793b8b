"""Writing to and delivering from the outbox.

`outbox_enqueue` writes "tell X about event E" in E's own transaction and asks for delivery
once that transaction commits. `outbox_deliver` sends one message at most once per claim and
marks it sent in the transaction that holds its row lock. `outbox_sweep` re-queues whatever is
still pending and due, so a lost task (broker down, worker killed) is only a delay.

What "exactly once" means here: at most one message row per (event, recipient, kind) (a unique
constraint), never two concurrent sends of one row (a row lock held across the send), and a row
marked sent in the same transaction as the send. The one gap no outbox can close is a crash
after the mail server accepted the message and before that transaction commits: the message is
then sent again later with the same Message-ID, which mail systems and readers use to spot the
duplicate.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from modelspec_site.audit.models import Event
from modelspec_site.outbox.models import OutboxMessage, Status

logger = logging.getLogger(__name__)

# A message whose attempts all failed, or that started this many deliveries without finishing
# one (it keeps killing its worker), is given up as failed: it stays in the table for staff.
MAX_ATTEMPTS = 8
# Back-off after attempt n: BACKOFF_BASE * 2**(n-1), at most BACKOFF_CAP (1, 2, 4 ... 64 min:
# the eight attempts span about two hours, enough to ride out a mail server restart).
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=2)
# How many due messages one sweep queues; the next sweep takes the rest.
SWEEP_BATCH = 500
# Publishing a task must not hold a web request for long when the broker is unreachable:
# give up after a short retry and leave the message to the sweep.
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.2,
}
LAST_ERROR_MAX_CHARS = 2000
RECIPIENT_MAX_CHARS = 254  # the column's size (RFC 5321 path limit)
SUBJECT_MAX_CHARS = 255


class Outcome(StrEnum):
    """What one call of `outbox_deliver` did."""

    SENT = "sent"  # sent now and marked sent
    RETRY = "retry"  # sending failed; the sweep tries again after the back-off
    FAILED = "failed"  # sending failed for the last allowed time; given up
    QUARANTINED = "quarantined"  # too many deliveries started without finishing; given up
    SKIPPED = "skipped"  # already sent or given up: nothing to do
    NOT_DUE = "not_due"  # another worker holds the claim, or the back-off has not passed
    BUSY = "busy"  # the row is locked by another worker (or does not exist)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th attempt."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def normalize_recipient(address: str) -> str:
    """The address as stored and deduplicated: trimmed, domain lower-cased. Raises ValueError."""
    address = (address or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise ValueError("recipient must be one valid e-mail address") from None
    if len(address) > RECIPIENT_MAX_CHARS:
        raise ValueError(f"recipient is longer than {RECIPIENT_MAX_CHARS} characters")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def _check_header(name: str, value: str) -> None:
    if not isinstance(name, str) or not isinstance(value, str):
        raise ValueError("headers must map strings to strings")
    if any(ch in name + value for ch in "\r\n\0"):
        raise ValueError(f"header {name!r} contains a line break")


def message_id_for(*, event_seq: int, recipient: str, kind: str) -> str:
    """A Message-ID that depends only on (event, recipient, kind), so a message sent twice
    after a crash carries the same ID both times. The address enters only through a hash."""
    digest = hashlib.sha256(f"{event_seq}\x1f{recipient}\x1f{kind}".encode()).hexdigest()[:32]
    domain = getattr(settings, "OUTBOX_MESSAGE_ID_DOMAIN", "") or (
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    )
    return f"<outbox.{event_seq}.{digest}@{domain}>"


def outbox_enqueue(
    *,
    event: Event,
    recipient: str,
    kind: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Record that `recipient` must be told about `event`, and ask for delivery after commit.

    Call it inside the transaction that records `event` (like `audit_record`): the message and
    the event then commit or roll back together. Outside a transaction it raises RuntimeError.
    A second call for the same (event, recipient, kind) changes nothing and returns the first
    row. Invalid addresses, or line breaks in the subject or a header, raise ValueError before
    anything is written.

    Delivery is queued with `transaction.on_commit`; if the broker cannot take the task the
    caller is not disturbed (the failure is logged) and `outbox_sweep` queues it later.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "outbox_enqueue must run inside the transaction of the event it is about "
            "(wrap the service in transaction.atomic())"
        )
    if event.pk is None:
        raise ValueError("event must be a recorded ledger event")
    recipient = normalize_recipient(recipient)
    headers = dict(headers or {})
    _check_header("Subject", subject)
    if len(subject) > SUBJECT_MAX_CHARS:
        raise ValueError(f"subject is longer than {SUBJECT_MAX_CHARS} characters")
    for name, value in headers.items():
        _check_header(name, value)

    # INSERT ... ON CONFLICT DO NOTHING: the unique key decides, even between concurrent calls.
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                event_seq=event.pk,
                recipient=recipient,
                kind=kind,
                subject=subject,
                body_text=body_text,
                body_html=body_html,
                headers=headers,
                next_attempt_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )
    message = OutboxMessage.objects.get(event_seq=event.pk, recipient=recipient, kind=kind)
    message_id = message.pk
    transaction.on_commit(lambda: outbox_dispatch(message_id=message_id))
    return message


def outbox_enqueue_many(messages: list[OutboxMessage]) -> list[int]:
    """Insert many ready messages (recipients normalised, headers checked by the caller) with
    one COPY, in the transaction of their events, and return their ids in the same order.
    Nothing is dispatched: the caller queues what it wants sent at once with
    `transaction.on_commit`, and `outbox_sweep` sends the rest. For publications that write
    tens of thousands of messages; `outbox_enqueue` is the one-message path."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_enqueue_many must run inside the transaction of the events")
    if not messages:
        return []
    for message in messages:
        _check_header("Subject", message.subject)
        if len(message.subject) > SUBJECT_MAX_CHARS:
            raise ValueError(f"subject is longer than {SUBJECT_MAX_CHARS} characters")
    opts = OutboxMessage._meta
    names = ("event_seq", "recipient", "kind", "subject", "body_text", "body_html", "headers",
             "status", "attempts", "last_error", "created_at", "next_attempt_at")  # fmt: skip
    columns = ", ".join(connection.ops.quote_name(opts.get_field(n).column) for n in names)
    table = connection.ops.quote_name(opts.db_table)
    now = timezone.now()
    pending = opts.get_field("status").default
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for m in messages:
                copy.write_row(
                    (m.event_seq, m.recipient, m.kind, m.subject, m.body_text, m.body_html,
                     json.dumps(m.headers or {}), pending, 0, "", now, m.next_attempt_at or now)
                )  # fmt: skip
        # Through the unique (event_seq, recipient, kind) index.
        cursor.execute(
            f"SELECT id, event_seq, recipient, kind FROM {table} "  # noqa: S608 (model names)
            "WHERE event_seq = ANY(%s)",
            [sorted({m.event_seq for m in messages})],
        )
        ids = {(seq, recipient, kind): pk for pk, seq, recipient, kind in cursor.fetchall()}
    return [ids[(m.event_seq, m.recipient, m.kind)] for m in messages]


def outbox_dispatch(*, message_id: int) -> bool:
    """Queue the delivery task for one message; False (logged) if the broker refused it.
    Never raises: this runs after a commit, where an exception would fail a request whose
    change is already stored."""
    from modelspec_site.outbox.tasks import deliver_message  # tasks import this module

    try:
        deliver_message.apply_async((message_id,), retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:
        logger.warning(
            "outbox: could not queue delivery of message %s; the sweep will retry",
            message_id,
            exc_info=True,
        )
        return False
    return True


def _claim(message_id: int, now: datetime) -> tuple[Outcome | None, int]:
    """Take the next attempt of a message, in a transaction of its own so that the attempt is
    on record even if the send that follows kills the process. Returns (outcome, 0) when there
    is nothing to send, else (None, the attempt number claimed)."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id)
            .only("status", "attempts", "next_attempt_at")
            .first()
        )
        if message is None:
            return Outcome.BUSY, 0
        if message.status != Status.PENDING:
            return Outcome.SKIPPED, 0
        # A new message is always claimable (so a skewed clock cannot delay the first try);
        # after that, the back-off doubles as a lease for the worker holding the last claim.
        if message.attempts and message.next_attempt_at > now:
            return Outcome.NOT_DUE, 0
        if message.attempts >= MAX_ATTEMPTS:
            message.status = Status.FAILED
            message.last_error = (
                f"quarantined: {message.attempts} deliveries started and none finished"
            )
            message.save(update_fields=["status", "last_error"])
            logger.error("outbox: message %s quarantined after %s", message_id, message.attempts)
            return Outcome.QUARANTINED, 0
        message.attempts += 1
        message.next_attempt_at = now + backoff(message.attempts)
        message.save(update_fields=["attempts", "next_attempt_at"])
        return None, message.attempts


def _send(message: OutboxMessage) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        to=[message.recipient],
        headers={
            **message.headers,
            "Message-ID": message_id_for(
                event_seq=message.event_seq, recipient=message.recipient, kind=message.kind
            ),
        },
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    email.send(using="default")


def outbox_deliver(*, message_id: int) -> Outcome:
    """Send one outbox message unless it is sent, given up, or being sent by someone else.

    First the attempt is claimed and committed (row locked with skip_locked: a message locked
    by another worker is left to it; attempts + 1; next_attempt_at pushed back by the
    back-off, which leases the message to this worker). Then, holding the row lock, the message
    is sent and marked sent in the same transaction, so no two workers send it at once and a
    failed commit leaves it pending. A
    sending error is recorded (last_error; failed after MAX_ATTEMPTS) and never raised: the
    sweep owns the retries. Errors other than sending (the database) propagate.
    """
    outcome, attempt = _claim(message_id, timezone.now())
    if outcome is not None:
        return outcome
    with transaction.atomic():
        # This worker holds the claim, so it waits for the lock rather than skipping: whoever
        # holds it is only looking (a duplicate task), or is an older claim still sending,
        # after which the filter below no longer matches.
        message = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message_id, status=Status.PENDING, attempts=attempt)
            .first()
        )
        if message is None:  # a later claim took over (our lease ran out); let it finish
            return Outcome.BUSY
        try:
            _send(message)
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:LAST_ERROR_MAX_CHARS]
            given_up = message.attempts >= MAX_ATTEMPTS
            if given_up:
                message.status = Status.FAILED
            message.save(update_fields=["last_error", "status"])
            logger.warning(
                "outbox: attempt %s of message %s failed%s",
                message.attempts,
                message_id,
                "; giving up" if given_up else "",
                exc_info=True,
            )
            return Outcome.FAILED if given_up else Outcome.RETRY
        message.status = Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["status", "sent_at", "last_error"])
    return Outcome.SENT


def outbox_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Queue delivery of up to `limit` pending messages whose next attempt is due, oldest first;
    return how many were queued. Stops early while the broker refuses tasks.

    A message may be queued more than once (a sweep while its first task waits in the queue);
    the extra task finds it claimed or sent and does nothing."""
    now = now or timezone.now()
    due = (
        OutboxMessage.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    queued = 0
    for message_id in due:
        if not outbox_dispatch(message_id=message_id):
            break
        queued += 1
    return queued
