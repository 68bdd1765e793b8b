"""Reading the ledger. Every queryset of events that reaches a viewer comes from here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from django.db import connection, models, transaction
from django.db.models import QuerySet

from modelspec_site.accounts.roles import AUDITOR, has_role
from modelspec_site.audit.models import Event, Visibility


def event_list(*, viewer) -> QuerySet[Event]:
    """The events `viewer` may see: all of them for auditors, the public ones for anyone else."""
    events = Event.objects.all()
    if not has_role(viewer, AUDITOR):
        events = events.filter(visibility=Visibility.PUBLIC)
    return events


def event_list_for_subject(subject: models.Model | Mapping[str, str], *, viewer) -> QuerySet[Event]:
    """The events about one object (a model instance or a {type, id} reference), oldest first."""
    if isinstance(subject, models.Model):
        ref = {"type": subject._meta.label_lower, "id": str(subject.pk)}
    else:
        ref = {"type": str(subject["type"]), "id": str(subject["id"])}
    return event_list(viewer=viewer).filter(subjects__contains=[ref]).order_by("seq")


# The whole ledger in seq order, as text where it is hashed: created_at in its canonical form,
# subjects and data as PostgreSQL writes jsonb (valid JSON; decoded by whoever needs values).
_LEDGER_ROWS_SQL = """
SELECT seq,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       actor_kind, actor_label, actor_id, action, subjects::text, visibility, data::text,
       prev_hash, hash
FROM audit_event
ORDER BY seq
"""


def ledger_rows(*, chunk_size: int = 10_000) -> Iterator[tuple]:
    """Every event as a row (see `fastchain.Row`), oldest first, through a server-side cursor:
    constant memory whatever the ledger's length, one consistent snapshot (rows appended while
    it runs are not included). A generator: the cursor and its transaction close when it is
    exhausted or closed."""
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(_LEDGER_ROWS_SQL)
        while rows := cursor.fetchmany(chunk_size):
            yield from rows
