"""Exactly once, whatever crashes: a real Redis, real Celery workers in their own processes
(started as `make run` starts them: `celery -A modelspec_site worker --pool=solo`), and a worker
killed with SIGKILL in the middle of sending a notification.

1. A staff member triages a public item in another process (the "web" process, committing for
   real): one ledger event, four outbox rows (the submitter and three followers), four
   delivery tasks in Redis.
2. Worker A takes the first task; its mail server (`GateMailer`) accepts nothing until a gate
   file appears. While it waits, with the attempt claimed and the row locked, A is SIGKILLed.
3. Worker B starts and delivers the other three. The killed message stays pending, leased to
   the dead worker by its back-off; once that has run out, the periodic sweep queues it and B
   sends it.
4. Duplicate tasks and another sweep change nothing.

The mail server's log (one line per accepted message) then holds each (event, recipient) once,
and each row is marked sent once. Skipped when redis-server is not installed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from feedback.services import Submission, feedback_submit
from feedback.transitions import subscription_add
from modelspec_site.audit.models import Event
from modelspec_site.audit.services import audit_record
from modelspec_site.outbox.models import OutboxMessage, Status
from modelspec_site.outbox.services import message_id_for
from revisions.models import ClauseText
from tests.outbox.conftest import bundled_ensure

BASE_DIR = Path(__file__).resolve().parents[2]
MAIL_DIR_ENV = "SIGKILL_TEST_MAIL_DIR"
WAIT_SECONDS = 30

pytestmark = [
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="needs redis-server (apt-get install redis-server) to run a real broker",
    ),
    pytest.mark.django_db(transaction=True),
]


class GateMailer(BaseEmailBackend):
    """A mail server, in the worker's process, that logs each message it starts to take
    (`started`), waits until the file `gate` exists, then accepts it (`sent`): one line per
    message, with its Message-ID and recipient."""

    def send_messages(self, email_messages):
        folder = Path(os.environ[MAIL_DIR_ENV])
        for message in email_messages:
            line = f"{message.extra_headers['Message-ID']}\t{message.to[0]}\t{os.getpid()}\n"
            _append(folder / "started", line)
            while not (folder / "gate").exists():
                time.sleep(0.05)
            _append(folder / "sent", line)
        return len(email_messages)


def _append(path: Path, line: str) -> None:
    with path.open("a") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _lines(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split("\t") for line in path.read_text().splitlines()]


def _wait_for(condition, what: str, logs: Path | None = None) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    detail = logs.read_text()[-3000:] if logs is not None and logs.exists() else ""
    pytest.fail(f"waited {WAIT_SECONDS}s for {what}\n{detail}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A Redis of this test's own (no persistence), stopped by its pid afterwards."""
    import redis

    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        _wait_for(up, "redis-server to answer")
        yield url
    finally:
        client.close()
        server.terminate()
        server.wait(10)


@pytest.fixture
def processes():
    """Start processes; whatever is still running at the end is stopped (by its own pid)."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _env(redis_url: str, mail_dir: Path) -> dict[str, str]:
    from django.db import connection

    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        # The development profile, as `make run` uses it, on this test's database and broker.
        "DJANGO_SETTINGS_MODULE": "modelspec_site.settings.dev",
        "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "EMAIL_BACKEND": f"{__name__}.GateMailer",
        MAIL_DIR_ENV: str(mail_dir),
        "PYTHONPATH": str(BASE_DIR),
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
    }
    env.pop("CACHE_URL", None)
    return env


def _worker(name: str, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "modelspec_site", "worker", "--pool=solo",
         "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"{name}@%h"],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


# The web process: one committed transition, whose outbox rows are published to Redis on commit.
TRIAGE = """
import sys, django
django.setup()
from django.contrib.auth import get_user_model
from feedback.models import FeedbackItem
from feedback.transitions import feedback_transition
item = FeedbackItem.objects.get(pk=int(sys.argv[1]))
user = get_user_model().objects.get(pk=int(sys.argv[2]))
feedback_transition(acting_user=user, item=item, action="triage")
"""


# Another process of the site (as beat or a web request would) queues deliveries: each message
# id given, then the periodic sweep, then the ids after "--then". Prints what the sweep queued.
QUEUE = """
import sys, django
django.setup()
from modelspec_site.outbox.services import outbox_dispatch, outbox_sweep
args = sys.argv[1:]
first, last = (args[:args.index("--then")], args[args.index("--then") + 1:]) if "--then" in args else (args, [])
for pk in first:
    assert outbox_dispatch(message_id=int(pk))
print(outbox_sweep())
for pk in last:
    assert outbox_dispatch(message_id=int(pk))
"""


def _python(code: str, env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=BASE_DIR, env=env,
                          check=True, timeout=60, capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip()


def test_a_worker_killed_mid_send_still_delivers_each_message_once(
    redis_url, processes, tmp_path, make_user
):
    version = bundled_ensure()
    clause = ClauseText.objects.filter(version=version).order_by("position", "pk").first()
    item = feedback_submit(
        acting_user=AnonymousUser(),
        submission=Submission(version=version, clause_id=clause.anchor, kind="unclear",
                              summary="Killed in the middle", submitter_email="anon@example.org"),
    ).item  # fmt: skip
    triager = make_user("sigkill-triager", roles=["triager"], is_staff=True)
    subscription_add(item=item, email="follower@example.org")
    subscription_add(clause=item.clause, user=make_user("clausefan"))
    subscription_add(spec=item.spec, email="specfan@example.org")
    expected = {"anon@example.org", "follower@example.org", "clausefan@example.org",
                "specfan@example.org"}  # fmt: skip

    # The receipt went wherever this process's tasks go (in-process, or another broker): it is
    # not this test's business, so the sweep below must not find it pending.
    OutboxMessage.objects.filter(status=Status.PENDING).update(
        status=Status.SENT, sent_at=timezone.now()
    )

    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = _env(redis_url, mail_dir)
    logs = tmp_path / "workers.log"

    # 1. The web process commits the transition; its four deliveries wait in Redis.
    _python(TRIAGE, env, str(item.pk), str(triager.pk))
    event = Event.objects.get(action="feedback.triaged")
    rows = OutboxMessage.objects.filter(event_seq=event.seq, kind="feedback.transition")
    assert set(rows.values_list("recipient", flat=True)) == expected

    # 2. Worker A starts sending the first message and is killed while it waits on the gate.
    worker_a = _worker("sigkill-a", env, logs)
    processes.append(worker_a)
    _wait_for(lambda: len(_lines(mail_dir / "started")) == 1, "worker A to start a send", logs)
    [killed] = rows.filter(attempts=1, status=Status.PENDING)
    os.kill(worker_a.pid, signal.SIGKILL)
    assert worker_a.wait(10) == -signal.SIGKILL
    assert _lines(mail_dir / "sent") == []  # the mail server never accepted it
    killed.refresh_from_db()
    # The attempt was claimed (and committed) before the send; the send's transaction died
    # with the worker, so the row is still pending, leased to the dead worker.
    assert (killed.status, killed.attempts) == (Status.PENDING, 1)
    assert killed.next_attempt_at > timezone.now()

    # 3. The gate opens; worker B delivers the other three tasks still in the queue.
    (mail_dir / "gate").touch()
    worker_b = _worker("sigkill-b", env, logs)
    processes.append(worker_b)
    _wait_for(lambda: len(_lines(mail_dir / "sent")) == 3, "worker B to send three", logs)
    killed.refresh_from_db()
    assert killed.status == Status.PENDING

    # The killed attempt's lease (its back-off) runs out; the periodic sweep queues the message
    # again and B sends it.
    OutboxMessage.objects.filter(pk=killed.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert _python(QUEUE, env) == "1"  # the sweep queued the one message still pending
    _wait_for(lambda: len(_lines(mail_dir / "sent")) == 4, "the sweep's redelivery", logs)

    # 4. Duplicate tasks for every row and another sweep: nothing more is sent. A last message,
    # queued after them for the solo worker, shows they have all run.
    with transaction.atomic():
        marker = audit_record(actor="system", action="test.sigkill_marker")
        last = OutboxMessage.objects.create(
            event_seq=marker.seq, recipient="marker@example.org", kind="test.marker",
            subject="Marker", body_text="Marker",
            next_attempt_at=timezone.now() + timedelta(hours=1),  # not the sweep's: queued last
        )  # fmt: skip
    pks = [str(pk) for pk in rows.values_list("pk", flat=True)]
    assert _python(QUEUE, env, *pks, "--then", str(last.pk)) == "0"
    _wait_for(
        lambda: any(line[1] == "marker@example.org" for line in _lines(mail_dir / "sent")),
        "the marker message",
        logs,
    )

    sent = [line for line in _lines(mail_dir / "sent") if line[1] != "marker@example.org"]
    assert sorted(line[1] for line in sent) == sorted(expected)  # each recipient exactly once
    assert sorted(line[0] for line in sent) == sorted(
        message_id_for(event_seq=event.seq, recipient=address, kind="feedback.transition")
        for address in expected
    )
    started = [line[1] for line in _lines(mail_dir / "started")]
    assert started.count(killed.recipient) == 2  # the killed send and the one that went out
    assert all(started.count(address) == 1 for address in expected - {killed.recipient})
    assert {line[2] for line in sent} == {str(worker_b.pid)}
    for row in rows:
        assert row.status == Status.SENT and row.sent_at is not None
        assert row.attempts == (2 if row.pk == killed.pk else 1)
