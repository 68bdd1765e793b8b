"""The outbox end to end: committed submissions, the Redis broker from CELERY_BROKER_URL and a
real Celery worker (solo pool, in a thread of this process, as `celery.contrib.testing` runs
it).

Mail goes to Django's file-based backend in a temporary folder rather than to the in-memory
one. The worker thread shares this process, so `mail.outbox` would also work, but files hold
what a mail server would get (the encoded message with its headers, Message-ID included) and
would keep working if the worker ran in another process.

Transactional: each submission really commits, so `on_commit` really publishes."""

import email
import email.policy
import logging
import os
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.contrib.auth.models import AnonymousUser
from django.core.mail.backends.filebased import EmailBackend as FileMailer
from django.db import connections
from kombu.exceptions import OperationalError

from feedback.services import feedback_submit
from modelspec_site.celery import app
from modelspec_site.outbox.models import OutboxMessage, Status
from modelspec_site.outbox.services import (
    message_id_for,
    outbox_deliver,
    outbox_dispatch,
    outbox_sweep,
)

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="needs a Redis broker in CELERY_BROKER_URL (make test starts one and sets it)",
    ),
    pytest.mark.django_db(transaction=True),
]

WAIT_SECONDS = 20
THREADS = 4
SEPARATOR = b"\n" + b"-" * 79 + b"\n"


class TaskRuns:
    """Every task the worker finished: (task name, first argument, return value)."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, object, object]] = []
        self._changed = threading.Condition()

    def record(self, sender=None, args=None, retval=None, **kwargs) -> None:
        if getattr(sender.request, "is_eager", False):
            return  # run in-process by another test, not by the worker
        # Runs in the worker thread: give its database connection back after each task, so
        # nothing holds the test database open when the flush or the teardown needs it.
        connections.close_all()
        with self._changed:
            self.runs.append((sender.name, (args or [None])[0], retval))
            self._changed.notify_all()

    def reset(self) -> None:
        with self._changed:
            self.runs.clear()

    def deliveries(self, message_id: int) -> list[object]:
        return [
            ret for name, arg, ret in self.runs if name == "outbox.deliver" and arg == message_id
        ]

    def wait_for_deliveries(self, message_id: int, count: int) -> list[object]:
        with self._changed:
            done = self._changed.wait_for(
                lambda: len(self.deliveries(message_id)) >= count, timeout=WAIT_SECONDS
            )
        assert done, f"worker ran {self.runs} within {WAIT_SECONDS}s"
        return self.deliveries(message_id)


@pytest.fixture(scope="module")
def worker_runs(django_db_blocker):
    """One embedded worker for the module, consuming the real broker. (One per process:
    Celery's embedded workers share their stop flag.)"""
    assert not app.conf.task_always_eager, "the broker is set, so tasks must not run eagerly"
    # Nothing left over from an earlier run reaches this worker: neither waiting tasks nor
    # tasks an interrupted worker had taken without acknowledging (kombu's Redis keys).
    app.control.purge()
    with app.connection_for_write() as conn:
        conn.default_channel.client.delete("unacked", "unacked_index")
    runs = TaskRuns()
    task_postrun.connect(runs.record, weak=False)
    # Starting a worker takes over the root logger; give it back to the tests that follow.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with ExitStack() as stack:
            # Celery's Django fixup runs Django's system checks as the worker starts, and
            # they read the database.
            with django_db_blocker.unblock():
                stack.enter_context(
                    start_worker(
                        app,
                        pool="solo",
                        perform_ping_check=False,
                        loglevel="WARNING",
                        shutdown_timeout=10,
                    )
                )
            yield runs
    finally:
        task_postrun.disconnect(runs.record)
        root.handlers[:], root.level = handlers, level
        logging.captureWarnings(False)


@pytest.fixture
def runs(worker_runs):
    worker_runs.reset()
    return worker_runs


@pytest.fixture
def maildir(settings, tmp_path) -> Path:
    folder = tmp_path / "mail"
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(folder)},
        }
    }
    return folder


def sent_messages(folder: Path) -> list[email.message.EmailMessage]:
    chunks = [
        chunk
        for path in sorted(folder.glob("*.log"))
        for chunk in path.read_bytes().split(SEPARATOR)
        if chunk.strip()
    ]
    return [email.message_from_bytes(chunk, policy=email.policy.default) for chunk in chunks]


def submit(make_submission, address: str):
    """A committed submission, as a web request makes it (no surrounding transaction)."""
    return feedback_submit(
        acting_user=AnonymousUser(), submission=make_submission(submitter_email=address)
    )


def test_a_committed_submission_is_mailed_once_by_the_worker(runs, maildir, make_submission):
    result = submit(make_submission, "reader@example.org")
    message = OutboxMessage.objects.get()

    assert runs.wait_for_deliveries(message.pk, 1) == ["sent"]
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)

    # Duplicate tasks and a sweep change nothing.
    assert outbox_dispatch(message_id=message.pk) and outbox_dispatch(message_id=message.pk)
    assert outbox_sweep() == 0
    assert runs.wait_for_deliveries(message.pk, 3) == ["sent", "skipped", "skipped"]

    [sent] = sent_messages(maildir)
    assert sent["To"] == "reader@example.org"
    assert sent["Subject"] == f"Feedback received: {result.item.tracking_number}"
    assert sent["Message-ID"] == message_id_for(
        event_seq=message.event_seq, recipient="reader@example.org", kind=message.kind
    )
    text = sent.get_body(("plain",)).get_content()
    assert result.item.tracking_number in text
    assert result.follow_token not in sent.as_string()


def test_a_broker_outage_delays_the_receipt_and_the_sweep_sends_it_once(
    runs, maildir, make_submission, monkeypatch, caplog
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1. Connection refused.")

    with monkeypatch.context() as outage:
        outage.setattr(app, "send_task", broker_down)
        result = submit(make_submission, "patient@example.org")  # does not raise

    assert result.item.pk is not None
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == (Status.PENDING, 0)
    assert "the sweep will retry" in caplog.text
    assert runs.deliveries(message.pk) == []  # nothing reached the worker
    assert not maildir.exists() or sent_messages(maildir) == []

    # The broker is back: the periodic sweep queues it, the worker sends it once.
    assert outbox_sweep() == 1
    assert runs.wait_for_deliveries(message.pk, 1) == ["sent"]
    assert outbox_sweep() == 0
    [sent] = sent_messages(maildir)
    assert sent["To"] == "patient@example.org"
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)


class SlowFileMailer(FileMailer):
    """A mail server that takes a while to accept a message: the sender holds the row lock
    meanwhile, so the racing deliveries really meet it."""

    def send_messages(self, messages):
        time.sleep(0.3)
        return super().send_messages(messages)


def test_racing_deliveries_send_once(runs, maildir, settings, make_submission):
    """Ten tasks on the worker and four threads of this process (each with its own database
    connection) all try to deliver the same message at once."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "tests.outbox.test_worker.SlowFileMailer",
            "OPTIONS": {"file_path": str(maildir)},
        }
    }
    submit(make_submission, "racer@example.org")  # its own task is queued on commit
    message = OutboxMessage.objects.get()
    for _ in range(9):
        assert outbox_dispatch(message_id=message.pk)

    start = threading.Barrier(THREADS, timeout=WAIT_SECONDS)
    outcomes: list[object] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            start.wait()
            for _ in range(5):
                outcomes.append(str(outbox_deliver(message_id=message.pk)))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    outcomes += runs.wait_for_deliveries(message.pk, 10)

    assert outcomes.count("sent") == 1
    assert "busy" in outcomes  # the race really happened: someone met the sender's lock
    assert set(outcomes) <= {"sent", "skipped", "busy", "not_due"}
    assert len(sent_messages(maildir)) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)
