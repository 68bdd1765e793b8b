"""Celery tasks of revisions. Thin: a primary key in, one service call.

`revisions.publish_version` is acks_late + reject_on_worker_lost, so a worker that dies in the
middle of a publication has the task delivered again. `publish_run` counts every attempt
before it starts (committed on its own) and gives the job up after `MAX_ATTEMPTS`, so a
publication that kills its worker cannot be redelivered forever (the trap NOTES.md names).
The periodic sweep queues jobs whose task was lost."""

from celery import shared_task

from .publishing import publish_run, publish_sweep


@shared_task(
    name="revisions.publish_version",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=0,
)
def publish_version(job_id: int) -> str:
    return publish_run(job_id=job_id)


@shared_task(name="revisions.publish_sweep", ignore_result=True, max_retries=0)
def sweep_publish_jobs() -> int:
    return publish_sweep()
