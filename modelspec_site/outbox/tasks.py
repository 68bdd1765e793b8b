"""Celery tasks for the outbox. Thin: a primary key in, one service call. Retries belong to
the sweep (which knows the back-off and the attempt count), not to Celery's autoretry."""

from celery import shared_task

from modelspec_site.outbox.services import outbox_deliver, outbox_sweep


# acks_late + reject_on_worker_lost: a worker killed mid-send gets the task redelivered. The
# redelivery finds the attempt already counted and the message leased, so it does nothing;
# the sweep retries after the back-off, and `outbox_deliver` quarantines a message once
# MAX_ATTEMPTS deliveries started without finishing, so a message that kills its worker
# cannot loop forever.
@shared_task(
    name="outbox.deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=0,
)
def deliver_message(message_id: int) -> str:
    return str(outbox_deliver(message_id=message_id))


@shared_task(name="outbox.sweep", ignore_result=True, max_retries=0)
def sweep_outbox() -> int:
    return outbox_sweep()
