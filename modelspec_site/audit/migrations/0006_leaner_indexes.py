"""Two indexes fewer to write on every ledger append, with nothing that reads the ledger losing
an index it uses:

- `hash` stays unique, through a named constraint instead of `unique=True`, which also made a
  `varchar_pattern_ops` (LIKE) index that no query uses. The existing unique constraint is
  renamed (its index with it): nothing is rebuilt.
- `actor_id` is indexed only where it is set: most events have no user actor (anonymous
  submissions, the system), and lookups are always by a user's id."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_canonical"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="audit_events",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="actor",
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="hash",
                    field=models.CharField(max_length=64, verbose_name="hash"),
                ),
                migrations.AddIndex(
                    model_name="event",
                    index=models.Index(
                        condition=models.Q(("actor__isnull", False)),
                        fields=["actor"],
                        name="audit_event_actor",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="event",
                    constraint=models.UniqueConstraint(
                        fields=("hash",), name="audit_event_hash_unique"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS audit_event_hash_254485c8_like;"
                    "ALTER TABLE audit_event RENAME CONSTRAINT audit_event_hash_key "
                    "TO audit_event_hash_unique;",
                    "ALTER TABLE audit_event RENAME CONSTRAINT audit_event_hash_unique "
                    "TO audit_event_hash_key;"
                    "CREATE INDEX IF NOT EXISTS audit_event_hash_254485c8_like "
                    "ON audit_event (hash varchar_pattern_ops);",
                ),
                migrations.RunSQL(
                    'CREATE INDEX audit_event_actor ON audit_event ("actor_id") '
                    'WHERE "actor_id" IS NOT NULL;'
                    "DROP INDEX IF EXISTS audit_event_actor_id_fdb5de2b;",
                    'CREATE INDEX IF NOT EXISTS audit_event_actor_id_fdb5de2b '
                    'ON audit_event ("actor_id");'
                    "DROP INDEX IF EXISTS audit_event_actor;",
                ),
            ],
        ),
    ]
