"""Publishing a draft as a job: started by an editor, run by a Celery task, watched on a page.

`publish_start` records a `PublishJob` and queues the task when its transaction commits;
`publish_run` does one attempt: it counts the attempt, calls `services.version_publish` (one
transaction: lineage, supersede, publish, proposals, ledger, the `version_published`
listeners) and records the outcome on the job.

Progress goes through a second, autocommit connection to PostgreSQL (`ProgressWriter`: a raw
psycopg connection built from the default database's settings), because the publish
transaction stays open until the very end: a row written inside it would be invisible to the
progress page until then. The same connection holds a session-level advisory lock on the
version while an attempt runs, so two deliveries of the task never publish at once, and the
periodic sweep can tell a job whose worker died (the lock is free) from one still working.

Safe to retry:
- a crash (or an exception) before the publish transaction commits leaves nothing behind: the
  next attempt redoes everything from the same draft;
- a crash after the commit leaves the version published and the job not finished: the next
  attempt sees the version published and only finishes the job;
- a task that keeps killing its worker (acks_late redelivers it) stops after `MAX_ATTEMPTS`
  attempts: the job is marked failed."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from modelspec_site.accounts.roles import EDITOR, has_role

from . import services
from .models import LineageLink, PublishJob, Version

logger = logging.getLogger(__name__)

# How many times a job may start before it is given up (a task that kills its worker is
# redelivered by acks_late + reject_on_worker_lost; this is the cap NOTES.md asks for).
MAX_ATTEMPTS = 3
# The sweep re-queues queued or running jobs older than this whose version lock is free.
STUCK_AFTER_SECONDS = 120
# Progress rows are written at most this often (a listener may report every item).
PROGRESS_INTERVAL = 0.25
# Advisory lock space of publishing: (this, version id). Two-int locks never collide with the
# ledger's one-bigint lock.
LOCK_CLASS = 0x5055_424C  # "PUBL"

ACTIVE_STATES = (PublishJob.State.QUEUED, PublishJob.State.RUNNING)


class PublishError(Exception):
    """The job cannot be started or retried as asked (shown to the editor, 409)."""


# --- The side connection -------------------------------------------------------------------


@dataclass
class ProgressWriter:
    """An autocommit psycopg connection to the default database, for progress rows and the
    run lock. Every failure here is logged and ignored: progress is never worth a failed
    publication. `echo` also receives each report (the management command prints them)."""

    job_id: int
    echo: Callable[[str, int, int], None] | None = None
    conn: object | None = None
    _last: float = 0.0
    _last_step: str = ""
    _pending: tuple | None = field(default=None)

    @classmethod
    def open(cls, job_id: int, *, echo=None) -> ProgressWriter:
        writer = cls(job_id=job_id, echo=echo)
        try:
            import psycopg

            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            params.pop("prepare_threshold", None)
            params.pop("server_side_binding", None)
            writer.conn = psycopg.connect(**params, autocommit=True)
            with writer.conn.cursor() as cursor:  # never wait long on anything
                cursor.execute("SET lock_timeout = '2s'; SET statement_timeout = '10s'")
        except Exception:
            logger.warning("publish job %s: no progress connection", job_id, exc_info=True)
            writer.conn = None
        return writer

    def _execute(self, sql: str, params: tuple) -> list | None:
        if self.conn is None:
            return None
        try:
            with self.conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        except Exception:
            logger.warning("publish job %s: progress write failed", self.job_id, exc_info=True)
            return None

    def try_lock(self, version_id: int) -> bool:
        """The run lock of this version; True when taken (or when there is no side
        connection: the version's row lock in the publish transaction still serialises)."""
        rows = self._execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, version_id))
        return True if rows is None else bool(rows[0][0])

    def __call__(self, step: str, done: int, total: int) -> None:
        if self.echo is not None:
            try:
                self.echo(step, done, total)
            except Exception:
                logger.warning("publish progress echo failed", exc_info=True)
        now = time.monotonic()
        if step == self._last_step and done < total and now - self._last < PROGRESS_INTERVAL:
            return
        self._last, self._last_step = now, step
        self._execute(
            "UPDATE revisions_publishjob SET step = %s, done = %s, total = %s WHERE id = %s",
            (step[:200], max(int(done), 0), max(int(total), 0), self.job_id),
        )

    def close(self) -> None:
        if self.conn is not None:
            # Unlock explicitly: closing alone releases the lock only once the server has
            # noticed, and the sweep (or a waiting retry) may look before that.
            self._execute("SELECT pg_advisory_unlock_all()", ())
            try:
                self.conn.close()
            except Exception:
                logger.warning("publish job %s: closing the side connection", self.job_id)
            self.conn = None


def lock_is_free(version_id: int) -> bool:
    """True when no attempt holds the run lock of `version_id` (checked on the default
    connection, and released at once)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, version_id))
        taken = cursor.fetchone()[0]
        if taken:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, version_id))
    return bool(taken)


# --- Services ------------------------------------------------------------------------------


def _enqueue(job_id: int) -> None:
    from .tasks import publish_version

    publish_version.delay(job_id)


def publish_start(*, acting_user, version: Version, enqueue: bool = True) -> PublishJob:
    """Start publishing `version` (a draft): a queued job, whose task is sent when this
    transaction commits. Editors only (`acting_user=None` is the system: the command line).
    While a job for the version is queued or running, that job is returned instead of a
    second one."""
    if acting_user is not None and not has_role(acting_user, EDITOR):
        raise PermissionDenied("Only editors publish versions.")
    with transaction.atomic():
        version = Version.objects.select_for_update().get(pk=version.pk)
        active = PublishJob.objects.filter(version=version, state__in=ACTIVE_STATES).first()
        if active is not None:
            return active
        if version.state != Version.State.DRAFT:
            raise PublishError(f"Version {version.label} is already {version.state}.")
        try:
            with transaction.atomic():
                job = PublishJob.objects.create(
                    version=version,
                    started_by=acting_user if getattr(acting_user, "pk", None) else None,
                    step="queued",
                )
        except IntegrityError:  # another request started one a moment ago
            return PublishJob.objects.get(version=version, state__in=ACTIVE_STATES)
        if enqueue:
            transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def publish_retry(*, acting_user, job: PublishJob, enqueue: bool = True) -> PublishJob:
    """Queue a failed job again (editors). Its attempts start from zero again: the editor
    decided to try once more."""
    if acting_user is not None and not has_role(acting_user, EDITOR):
        raise PermissionDenied("Only editors publish versions.")
    with transaction.atomic():
        job = PublishJob.objects.select_for_update().select_related("version").get(pk=job.pk)
        if job.state != PublishJob.State.FAILED:
            raise PublishError("Only a failed publication can be retried.")
        if job.version.state != Version.State.DRAFT:
            raise PublishError(f"Version {job.version.label} is already {job.version.state}.")
        if PublishJob.objects.filter(version=job.version, state__in=ACTIVE_STATES).exists():
            raise PublishError("This version is already being published.")
        job.state = PublishJob.State.QUEUED
        job.error = ""
        job.step, job.done, job.total, job.attempts = "queued", 0, 0, 0
        job.finished_at = None
        job.save(
            update_fields=["state", "error", "step", "done", "total", "attempts", "finished_at"]
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _stored_result(version: Version) -> dict:
    """What a finished publication looks like from the database alone (for an attempt that
    finds the work done by an earlier one)."""
    counts = Counter(LineageLink.objects.filter(version=version).values_list("kind", flat=True))
    return {
        "label": version.label,
        "supersedes": version.parent.label if version.parent_id else None,
        "lineage": dict(sorted(counts.items())),
        "recovered": True,
    }


def _jsonable(value: dict) -> dict:
    return json.loads(json.dumps(value, default=str))


def _finish(job_id: int, *, state: str, result: dict | None = None, error: str = "") -> None:
    fields = {"state": state, "finished_at": timezone.now(), "error": error[:5000]}
    if result is not None:
        fields["result"] = _jsonable(result)
    if state == PublishJob.State.DONE:
        fields["step"] = "done"
    PublishJob.objects.filter(pk=job_id).update(**fields)


def publish_run(*, job_id: int, echo=None) -> str:
    """One attempt at a job (the Celery task, or the command). Returns the job's state after
    it, or "busy" when another attempt holds the version's run lock."""
    job = PublishJob.objects.select_related("version").filter(pk=job_id).first()
    if job is None or job.state in (PublishJob.State.DONE, PublishJob.State.FAILED):
        return job.state if job is not None else "missing"
    writer = ProgressWriter.open(job_id, echo=echo)
    try:
        if not writer.try_lock(job.version_id):
            return "busy"
        with transaction.atomic():
            job = PublishJob.objects.select_for_update().select_related("version").get(pk=job_id)
            if job.state in (PublishJob.State.DONE, PublishJob.State.FAILED):
                return job.state
            job.attempts += 1
            if job.attempts > MAX_ATTEMPTS:
                job.state = PublishJob.State.FAILED
                job.error = (
                    f"Gave up after {MAX_ATTEMPTS} attempts that did not finish "
                    "(the worker stopped during each)."
                )
                job.finished_at = timezone.now()
                job.save(update_fields=["attempts", "state", "error", "finished_at"])
                return job.state
            job.state = PublishJob.State.RUNNING
            job.step, job.done, job.total = "starting", 0, 0
            job.save(update_fields=["attempts", "state", "step", "done", "total"])
        version = Version.objects.select_related("parent").get(pk=job.version_id)
        if version.state != Version.State.DRAFT:
            # An earlier attempt committed the publication and stopped before recording it.
            _finish(job_id, state=PublishJob.State.DONE, result=_stored_result(version))
            return PublishJob.State.DONE
        try:
            published = services.version_publish(
                version=version, acting_user=job.started_by, progress=writer
            )
        except Exception as exc:
            logger.exception("publishing %s failed", version)
            _finish(job_id, state=PublishJob.State.FAILED, error=_describe(exc))
            return PublishJob.State.FAILED
        _finish(job_id, state=PublishJob.State.DONE, result=published.publish_result)
        return PublishJob.State.DONE
    finally:
        writer.close()


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def publish_sweep(*, older_than: float = STUCK_AFTER_SECONDS) -> int:
    """Queue again the jobs left queued or running for longer than `older_than` seconds whose
    run lock is free (the task was lost, or its worker died). Returns how many were queued."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    queued = 0
    stuck = PublishJob.objects.filter(state__in=ACTIVE_STATES, created_at__lt=cutoff).values_list(
        "pk", "version_id"
    )
    for job_id, version_id in stuck:
        if lock_is_free(version_id):
            _enqueue(job_id)
            queued += 1
    return queued


def job_get(*, job_id: int) -> PublishJob | None:
    return (
        PublishJob.objects.select_related("version", "version__spec", "started_by")
        .filter(pk=job_id)
        .first()
    )
