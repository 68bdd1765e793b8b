"""The publish task retried after a crash in its middle leaves one consistent result (issue 5,
item 8).

In process: a `version_published` listener connected after feedback's carry-forward raises on
the first attempt, once the lineage is stored, the version marked published and every open
item carried inside the publish transaction. The attempt fails and leaves nothing; the retry
publishes once: one published version, one set of lineage links, each item carried once, the
accepted item incorporated once, one `version.published` event, and a ledger that verifies.
An attempt that finds the publication already committed only finishes the job.

With a real worker (when redis-server is installed): a Celery worker publishing in its own
process is SIGKILLed while the publish transaction is open (a listener waits on a gate file);
PostgreSQL rolls the transaction back, the sweep finds the job's run lock free and queues it
again, and a second worker publishes it once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from feedback.models import OPEN_STATES, FeedbackItem, ProposalLink, Reanchoring, Visibility
from modelspec_site.audit.models import Event
from modelspec_site.audit.verify import audit_verify
from revisions import publishing
from revisions.models import ChangeProposal, LineageLink, PublishJob, Version
from revisions.signals import version_published
from tests.revisions.test_publishing import CURRENT, SPEC, file_item, make_draft

BASE_DIR = Path(__file__).resolve().parents[2]


def _world(editor):
    """A draft, open items on the current version (public, internal, with a passage), and an
    accepted item answered by a proposal applied to the draft."""
    draft = make_draft("2099-04-04")
    current = Version.objects.get(spec__slug=SPEC, label=CURRENT)
    items = [
        file_item(clause="structure", summary="Overview unclear"),
        file_item(clause="overview", summary="Overview too long"),
        file_item(clause="letter_and_spirit", summary="Spirit unclear"),
    ]
    accepted = file_item(clause="structure", summary="Please reword the overview")
    FeedbackItem.objects.filter(pk=accepted.pk).update(state="accepted")
    FeedbackItem.objects.filter(pk=items[2].pk).update(visibility=Visibility.INTERNAL)
    proposal = ChangeProposal.objects.create(
        spec=draft.spec, operation="edit", state=ChangeProposal.State.APPLIED,
        base_version=current, rationale="Reworded", author=editor, draft=draft,
        applied_anchor="structure",
    )  # fmt: skip
    ProposalLink.objects.create(item=accepted, proposal=proposal)
    return draft, current, items, accepted


def _open_on(version: Version) -> list[int]:
    return list(
        FeedbackItem.objects.filter(version=version, state__in=OPEN_STATES).values_list(
            "pk", flat=True
        )
    )


def _assert_published_once(draft, current, accepted, open_before: list[int], events_before: int):
    draft.refresh_from_db()
    current.refresh_from_db()
    assert (draft.state, current.state) == ("published", "superseded")
    assert list(Version.objects.filter(spec=draft.spec, state="published")) == [draft]

    pairs = list(LineageLink.objects.filter(version=draft).values_list("old_text", "new_text"))
    assert pairs and len(pairs) == len(set(pairs))  # one set of links, no duplicates
    new_texts = set(draft.clause_texts.values_list("pk", flat=True))
    assert {new for _, new in pairs if new} == new_texts  # every new clause accounted for once

    per_item = Counter(Reanchoring.objects.filter(version=draft).values_list("item", flat=True))
    carried = set(open_before) - {accepted.pk}
    assert carried <= set(per_item) and set(per_item.values()) == {1}
    assert not FeedbackItem.objects.filter(pk__in=carried, current_text=None).exclude(
        anchor_outcome="orphaned"
    )
    accepted.refresh_from_db()
    assert accepted.state == "incorporated"

    new_events = Event.objects.filter(seq__gt=events_before)
    actions = Counter(new_events.values_list("action", flat=True))
    assert actions["version.published"] == 1
    assert actions["feedback.incorporated"] == 1
    carried_numbers = Counter(
        e.data.get("tracking_number") for e in new_events.filter(action="feedback.carried")
    )
    assert all(n == 1 for n in carried_numbers.values())
    result = audit_verify()
    assert result.ok, result.reason


@pytest.mark.django_db
def test_a_retry_after_a_crash_in_the_middle_publishes_once(make_user):
    editor = make_user("crash-editor", roles=["editor"], is_staff=True)
    draft, current, _items, accepted = _world(editor)
    open_before = _open_on(current)
    events_before = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    seen: dict[str, int] = {}

    def crash_once(sender, version, **kwargs):
        # By now the lineage is stored, the version published and the items carried, all
        # inside the still-open transaction.
        if "reanchorings" not in seen:
            seen["reanchorings"] = Reanchoring.objects.filter(version=version).count()
            seen["links"] = LineageLink.objects.filter(version=version).count()
            seen["state"] = Version.objects.get(pk=version.pk).state == "published"
            raise RuntimeError("worker crashed in the middle of publishing")

    version_published.connect(crash_once, dispatch_uid="test-crash-once")
    try:
        job = publishing.publish_start(acting_user=editor, version=draft, enqueue=False)
        assert publishing.publish_run(job_id=job.pk) == "failed"
        assert seen["reanchorings"] >= len(open_before) - 1 and seen["links"] and seen["state"]

        # Nothing of the first attempt is left.
        draft.refresh_from_db()
        assert draft.state == "draft"
        assert Version.objects.get(pk=current.pk).state == "published"
        assert not Reanchoring.objects.filter(version=draft).exists()
        assert not Event.objects.filter(seq__gt=events_before).exists()
        assert not FeedbackItem.objects.filter(pk__in=open_before).exclude(current_text=None)
        assert FeedbackItem.objects.get(pk=accepted.pk).state == "accepted"
        assert audit_verify().ok

        job = publishing.publish_retry(acting_user=editor, job=job, enqueue=False)
        assert publishing.publish_run(job_id=job.pk) == "done"
    finally:
        version_published.disconnect(dispatch_uid="test-crash-once")
    job.refresh_from_db()
    assert job.state == "done" and job.error == ""
    listeners = job.result["listeners"]
    assert any(v.get("incorporated") == 1 for v in listeners.values() if isinstance(v, dict))
    _assert_published_once(draft, current, accepted, open_before, events_before)


@pytest.mark.django_db
def test_an_attempt_after_a_committed_publication_only_finishes_the_job(make_user):
    """The worker died after the publish transaction committed but before the job was marked
    done: the redelivered task sees the version published and finishes the job, adding
    nothing."""
    editor = make_user("crash-editor-2", roles=["editor"], is_staff=True)
    draft, current, _items, accepted = _world(editor)
    open_before = _open_on(current)
    events_before = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    job = publishing.publish_start(acting_user=editor, version=draft, enqueue=False)
    assert publishing.publish_run(job_id=job.pk) == "done"
    PublishJob.objects.filter(pk=job.pk).update(state="running", finished_at=None, result={})
    events_after = Event.objects.count()

    assert publishing.publish_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert job.state == "done" and job.result["recovered"] is True
    assert job.result["lineage"] and job.attempts == 2
    assert Event.objects.count() == events_after
    _assert_published_once(draft, current, accepted, open_before, events_before)


# --- A real worker, killed --------------------------------------------------------------------

GATE_ENV = "PUBLISH_GATE_DIR"


def _wait_for(condition, what: str, logs: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(
        f"waited {seconds}s for {what}\n{logs.read_text()[-3000:] if logs.exists() else ''}"
    )


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_publishing_leaves_one_publication(make_user, tmp_path):
    from tests.outbox.conftest import bundled_ensure
    from tests.outbox.test_sigkill import _env, _free_port, _python
    from tests.outbox.test_sigkill import _wait_for as _wait_redis

    bundled_ensure()
    editor = make_user("sigkill-editor", roles=["editor"], is_staff=True)
    draft, current, _items, accepted = _world(editor)
    open_before = _open_on(current)
    events_before = Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    job = publishing.publish_start(acting_user=editor, version=draft, enqueue=False)

    port = _free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers: list[subprocess.Popen] = []
    gate = tmp_path / "gate"
    gate.mkdir()
    logs = tmp_path / "workers.log"
    try:
        import redis as redis_client

        url = f"redis://127.0.0.1:{port}/0"
        client = redis_client.Redis.from_url(url)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis_client.ConnectionError:
                return False

        _wait_redis(up, "redis-server to answer")
        env = _env(url, tmp_path / "mail") | {
            GATE_ENV: str(gate),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }

        def worker(name: str) -> subprocess.Popen:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "modelspec_site", "worker",
                 "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "-I", "tests.revisions.publish_gate", "-n", f"{name}@%h"],
                cwd=BASE_DIR, env=env, stdout=logs.open("a"), stderr=subprocess.STDOUT,
            )  # fmt: skip
            workers.append(process)
            return process

        # The web process queues the task; worker A takes it and stops at the gate, inside the
        # publish transaction (after the carry-forward), and is killed there.
        _python(QUEUE_JOB, env, str(job.pk))
        worker_a = worker("publish-a")
        _wait_for(lambda: (gate / "waiting").exists(), "worker A to reach the gate", logs)
        assert PublishJob.objects.get(pk=job.pk).state == "running"
        os.kill(worker_a.pid, signal.SIGKILL)
        assert worker_a.wait(10) == -signal.SIGKILL

        # The transaction died with the worker's connection: nothing of it is left.
        _wait_for(lambda: publishing.lock_is_free(draft.pk), "the run lock to be released", logs)
        draft.refresh_from_db()
        assert draft.state == "draft"
        assert not Reanchoring.objects.filter(version=draft).exists()
        assert not Event.objects.filter(seq__gt=events_before).exists()

        # The sweep (as beat runs it) queues the stuck job again; worker B publishes it.
        (gate / "open").touch()
        PublishJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
        assert _python(SWEEP, env) == "1"
        worker("publish-b")
        _wait_for(
            lambda: PublishJob.objects.get(pk=job.pk).state in ("done", "failed"),
            "worker B to finish the job",
            logs,
        )
        job.refresh_from_db()
        assert job.state == "done", job.error
        assert job.attempts == 2
        _assert_published_once(draft, current, accepted, open_before, events_before)
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        redis.terminate()
        redis.wait(10)


QUEUE_JOB = """
import sys, django
django.setup()
from revisions.tasks import publish_version
publish_version.delay(int(sys.argv[1]))
"""

SWEEP = """
import django
django.setup()
from revisions.publishing import publish_sweep
print(publish_sweep())
"""
