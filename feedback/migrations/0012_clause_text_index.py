"""Drop the clause_text foreign key's own index: `feedback_queue_clause_waiting` leads with the
same column and serves the same lookups, and every submission paid for writing both. Only the
index goes; the foreign key constraint stays as it is (no re-validation of existing rows)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0011_reopen_request_dismissal"),
        ("revisions", "0003_revision_process"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="feedbackitem",
                    name="clause_text",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="feedback",
                        to="revisions.clausetext",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS feedback_feedbackitem_clause_text_id_c05341d6;",
                    'CREATE INDEX IF NOT EXISTS feedback_feedbackitem_clause_text_id_c05341d6 '
                    'ON feedback_feedbackitem ("clause_text_id");',
                ),
            ],
        ),
    ]
