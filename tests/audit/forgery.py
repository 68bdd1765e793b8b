"""What an owner or superuser of the ledger table can do, for the tamper tests.

The append-only trigger can be switched off; the CHECK constraint that ties each event's columns
to its stored canonical text cannot (only dropped). So a forger who edits an event must rewrite
its columns and its canonical text together, and a careful one recomputes the hashes too.
All of it runs inside the test's transaction and is rolled back afterwards."""

import json
from typing import Any

from django.db import connection

from modelspec_site.audit import chain
from modelspec_site.audit.models import Event

TRIGGER = "audit_event_no_update_delete"
CONSTRAINT = "audit_event_canonical_matches"


def as_owner(sql: str, params: Any = None) -> None:
    """Switch the append-only trigger off, run `sql`, switch it back on."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE audit_event DISABLE TRIGGER {TRIGGER}")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE audit_event ENABLE TRIGGER {TRIGGER}")


def rewrite_data(seq: int, data: dict[str, Any], *, reseal: bool = False) -> None:
    """Give event `seq` new data, with its canonical text to match (and, with `reseal`, its own
    hash recomputed; the events after it still name the old one)."""
    fields = Event.objects.get(seq=seq).chain_fields() | {"data": data}
    encoded = chain.canonical_bytes(fields)
    sql = "UPDATE audit_event SET data = %s::jsonb, canonical = %s"
    params: list[Any] = [json.dumps(data), encoded.decode()]
    if reseal:
        sql += ", hash = %s"
        params.append(chain.event_hash(fields))
    as_owner(sql + " WHERE seq = %s", [*params, seq])


def drop_constraint() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE audit_event DROP CONSTRAINT {CONSTRAINT}")


def rehash_from(seq: int, *, renumber_to: int | None = None) -> None:
    """Recompute every hash from `seq` on (renumbering them from `renumber_to`), as a careful
    forger would: the chain is then internally consistent again."""
    events = list(Event.objects.filter(seq__gte=seq).order_by("seq"))
    start = seq if renumber_to is None else renumber_to
    prev = Event.objects.filter(seq=start - 1).values_list("hash", flat=True).first()
    prev = prev or chain.GENESIS_HASH
    as_owner("DELETE FROM audit_event WHERE seq >= %s", [seq])
    for offset, event in enumerate(events):
        event.seq = start + offset
        event.prev_hash = prev
        encoded = chain.canonical_bytes(event.chain_fields())
        event.canonical = encoded.decode()
        event.hash = prev = chain.event_hash(event.chain_fields())
        event.save(force_insert=True)
