"""Thin Celery tasks for the ledger."""

from celery import shared_task

from modelspec_site.audit.checkpoints import checkpoint_record


@shared_task(name="audit.checkpoint_record", ignore_result=True, max_retries=0)
def checkpoint_record_task() -> int:
    """Today's checkpoint (daily, by beat); a second run the same day records nothing.
    Returns the checkpointed event count."""
    checkpoint, _created = checkpoint_record()
    return checkpoint.count
