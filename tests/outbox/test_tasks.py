"""The Celery tasks are thin and configured for the outbox's guarantees; beat runs the sweep."""

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction

from modelspec_site.celery import app
from modelspec_site.outbox import tasks
from modelspec_site.outbox.services import outbox_enqueue

DELIVER, SWEEP = tasks.deliver_message, tasks.sweep_outbox


def test_delivery_task_acks_late_and_leaves_retries_to_the_sweep():
    task = app.tasks["outbox.deliver"]
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert task.max_retries == 0
    assert not getattr(task, "autoretry_for", ())


def test_beat_sweeps_the_outbox_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["outbox-sweep"]
    assert entry["task"] == "outbox.sweep" == app.tasks["outbox.sweep"].name
    assert entry["schedule"] == 60.0
    assert entry["options"]["expires"] < entry["schedule"]


@pytest.mark.django_db
def test_tasks_call_the_services(event, queued):
    with transaction.atomic():
        message = outbox_enqueue(
            event=event, recipient="a@example.org", kind="k", subject="s", body_text="b"
        )
    assert SWEEP() == 1  # run in-process: queues the due message
    assert queued == [message.pk]
    assert DELIVER(message.pk) == "sent"
    assert DELIVER(message.pk) == "skipped"
    assert len(mail.outbox) == 1
