"""Thin Celery tasks for feedback: load, call a service, own the retry."""

from celery import shared_task

from .idempotency import idempotency_purge
from .notifications import digest_send, reminders_send


@shared_task(name="feedback.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Forget Idempotency-Key replays past their window (daily, by beat)."""
    return idempotency_purge()


@shared_task(name="feedback.send_reviewer_digest", ignore_result=True, max_retries=0)
def send_reviewer_digest() -> int:
    """The reviewers' daily digest (by beat); a second run the same day sends nothing."""
    return digest_send()


@shared_task(name="feedback.send_ageing_reminders", ignore_result=True, max_retries=0)
def send_ageing_reminders() -> int:
    """Reminders about items waiting past FEEDBACK_AGEING_DAYS (by beat); each item at most
    once per ageing period."""
    return reminders_send()


@shared_task(name="feedback.publish_scheduled", ignore_result=True, max_retries=0)
def publish_scheduled() -> int:
    """Publish internal items and notes whose scheduled moment has come (every few minutes, by
    beat); idempotent, each publication in its own transaction."""
    from .scheduling import publication_run_due

    return publication_run_due()


@shared_task(name="feedback.transparency_precompute", ignore_result=True, max_retries=0)
def transparency_precompute() -> None:
    """Recompute the transparency dashboard's default view into the cache (by beat), so no
    visitor waits for its aggregates."""
    from .transparency import dashboard_precompute

    dashboard_precompute()
