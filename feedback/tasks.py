"""Thin Celery tasks for feedback: load, call a service, own the retry."""

from celery import shared_task

from .idempotency import idempotency_purge


@shared_task(name="feedback.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Forget Idempotency-Key replays past their window (daily, by beat)."""
    return idempotency_purge()
