"""Indexes for the triage queue's sorts and the lists' newest / most endorsed orders, measured
by bench/triage_queue.py at a million items. Built CONCURRENTLY: a live table keeps taking writes."""

import django.db.models.functions.comparison
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("feedback", "0004_submit_function")]

    operations = [
        AddIndexConcurrently(
            model_name="feedbackitem",
            index=models.Index(
                django.db.models.functions.comparison.Coalesce("state_changed_at", "created_at"),
                models.F("tracking_number"),
                name="feedback_queue_waiting",
            ),
        ),
        AddIndexConcurrently(
            model_name="feedbackitem",
            index=models.Index(
                models.F("state"),
                django.db.models.functions.comparison.Coalesce("state_changed_at", "created_at"),
                models.F("tracking_number"),
                name="feedback_queue_state_waiting",
            ),
        ),
        AddIndexConcurrently(
            model_name="feedbackitem",
            index=models.Index(
                models.OrderBy(models.F("endorsement_count"), descending=True),
                django.db.models.functions.comparison.Coalesce("state_changed_at", "created_at"),
                models.F("tracking_number"),
                name="feedback_queue_endorsed",
            ),
        ),
        AddIndexConcurrently(
            model_name="feedbackitem",
            index=models.Index(
                models.OrderBy(
                    models.Case(
                        models.When(severity="low", then=models.Value(0)),
                        models.When(severity="medium", then=models.Value(1)),
                        models.When(severity="high", then=models.Value(2)),
                        models.When(severity="critical", then=models.Value(3)),
                        default=models.Value(0),
                        output_field=models.IntegerField(),
                    ),
                    descending=True,
                ),
                django.db.models.functions.comparison.Coalesce("state_changed_at", "created_at"),
                models.F("tracking_number"),
                name="feedback_queue_severity",
            ),
        ),
        AddIndexConcurrently(
            model_name="feedbackitem",
            index=models.Index(fields=["-created_at", "-tracking_number"], name="feedback_newest"),
        ),
        AddIndexConcurrently(
            model_name="feedbackitem",
            index=models.Index(
                fields=["-endorsement_count", "-created_at", "-tracking_number"],
                name="feedback_most_endorsed",
            ),
        ),
    ]
