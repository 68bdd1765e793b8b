"""The triage queue filtered to one clause, oldest waiting first: (clause text, waiting since,
tracking number). Without it a rare clause walks the whole waiting order (bench/triage_queue.py,
"clause (rare)": 27-70 ms of SQL at a million items, 1 ms with it). Built CONCURRENTLY: a live
table keeps taking writes."""

import django.db.models.functions.comparison
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("feedback", "0006_write_path_indexes")]

    operations = [
        AddIndexConcurrently(
            model_name="feedbackitem",
            index=models.Index(
                models.F("clause_text"),
                django.db.models.functions.comparison.Coalesce("state_changed_at", "created_at"),
                models.F("tracking_number"),
                name="feedback_queue_clause_waiting",
            ),
        ),
    ]
