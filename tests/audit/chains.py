"""Building valid chains of plain event dicts for the pure tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

from modelspec_site.audit import chain

T0 = datetime(2025, 9, 12, 10, 0, 0, 123456, tzinfo=UTC)


def event_fields(seq: int, prev_hash: str, **overrides: Any) -> dict[str, Any]:
    fields = {
        "seq": seq,
        "created_at": T0 + timedelta(seconds=seq),
        "actor_kind": "user",
        "actor_label": "alice",
        "actor_id": 7,
        "action": "feedback.triaged",
        "subjects": [{"type": "feedback.item", "id": str(seq), "label": f"MS-2025-{seq:05d}"}],
        "visibility": "public",
        "data": {"n": seq, "before": {"state": "received"}, "after": {"state": "triaged"}},
        "prev_hash": prev_hash,
    }
    fields.update(overrides)
    return fields


def sealed(fields: dict[str, Any]) -> dict[str, Any]:
    return fields | {"hash": chain.event_hash(fields)}


def make_chain(length: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    head = chain.GENESIS_HASH
    for seq in range(1, length + 1):
        events.append(sealed(event_fields(seq, head)))
        head = events[-1]["hash"]
    return events
