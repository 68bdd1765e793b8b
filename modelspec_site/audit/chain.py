"""The ledger's hash chain as pure functions: no database, no Django.

Anyone holding an export of the ledger can re-check it with this module, or reimplement it from
this description.

Canonical encoding (version 1)
------------------------------
Each event is hashed over a JSON object with exactly these ten members:

- ``seq``: integer, the chain position; the first event is 1, then 2, 3, ... with no gaps.
- ``created_at``: string, the time in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six
  fractional digits, always the ``Z`` suffix).
- ``actor_kind``: string, ``"user"``, ``"anonymous"`` or ``"system"``.
- ``actor_label``: non-empty string, the actor's display label as stored (a username, ``"anonymous"``,
  ``"system"``).
- ``actor_id``: string (the acting user's primary key in decimal) for ``"user"``, else ``null``.
- ``action``: string, namespaced and past tense, matching ``^[a-z_]+(\\.[a-z_]+)+$``.
- ``subjects``: array of objects ``{"type": str, "id": str, "label": str}``, in stored order;
  ``type`` is ``app_label.model_name`` (``^[a-z_][a-z0-9_]*\\.[a-z_][a-z0-9_]*$``), ``id`` is
  not empty.
- ``visibility``: string, ``"public"`` or ``"internal"``.
- ``data``: object, the event's details.
- ``prev_hash``: string, the previous event's ``hash`` (64 lowercase hex digits); 64 ``"0"``
  for event 1.

The object is serialised as JSON with keys sorted by Unicode code point at every level, no
whitespace (separators ``","`` and ``":"``), non-ASCII characters written as themselves (not
``\\uXXXX`` escapes), then encoded as UTF-8. This is what Python's
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` produces.

``hash = lowercase hex SHA-256 of those bytes``.

Only these JSON values may appear (inside ``data`` and ``subjects``): objects with string keys,
arrays, strings, ``true``/``false``/``null`` and integers in ``[-(2**53 - 1), 2**53 - 1]``.
Floating-point numbers are refused: PostgreSQL's ``jsonb`` rewrites their text (``1e+20``
comes back as ``100000000000000000000``, ``-0.0`` as ``0.0``), so a float stored today could
hash differently when read back. Strings may not contain U+0000 (``jsonb`` refuses it) or lone
surrogates (not UTF-8). Nesting is limited to 32 levels. Callers pass plain JSON; anything
else (``Decimal``, ``datetime``, sets, model instances) is refused with a ``ValueError``
rather than converted, so that what is hashed is exactly what the caller meant.

Verification (`verify_chain`) reads events in ``seq`` order and checks, for each one: its
``seq`` is the previous one plus 1 (starting at 1), its ``prev_hash`` equals the previous
event's ``hash`` (64 zeros for the first), and its ``hash`` equals the recomputed hash. It
stops at the first event that fails and names its chain position.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "created_at",
    "actor_kind",
    "actor_label",
    "actor_id",
    "action",
    "subjects",
    "visibility",
    "data",
    "prev_hash",
)
ACTOR_KINDS = frozenset({"user", "anonymous", "system"})
VISIBILITIES = frozenset({"public", "internal"})
ACTION_RE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
SUBJECT_TYPE_RE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32
_SUBJECT_KEYS = frozenset({"type", "id", "label"})


def format_timestamp(value: datetime) -> str:
    """The canonical text of an aware datetime: UTC, microseconds, ``Z`` suffix."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("created_at must be a timezone-aware datetime")
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def _check_json(value: Any, where: str, depth: int = 0) -> None:
    """Raise ValueError unless `value` is plain JSON that survives a jsonb round trip."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValueError(f"{where}: integer {value} is outside +/-(2**53 - 1); use a string")
        return
    if isinstance(value, float):
        raise ValueError(
            f"{where}: floats are not allowed in ledger events (their JSON text does not "
            "survive PostgreSQL jsonb unchanged); pass a string or an integer"
        )
    if isinstance(value, str):
        _check_text(value, where)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: object keys must be strings, got {type(key).__name__}")
            _check_text(key, f"{where} key")
            _check_json(item, f"{where}.{key}", depth + 1)
        return
    raise ValueError(
        f"{where}: {type(value).__name__} is not plain JSON; convert it before recording "
        "(e.g. datetimes to ISO-8601 strings, Decimals to strings)"
    )


def _check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise ValueError(f"{where}: strings may not contain U+0000")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{where}: string is not valid Unicode (lone surrogate)") from exc


def _check_subjects(subjects: Any) -> None:
    if not isinstance(subjects, list | tuple):
        raise ValueError("subjects must be a list")
    for index, subject in enumerate(subjects):
        if not isinstance(subject, Mapping) or set(subject) != _SUBJECT_KEYS:
            raise ValueError(f"subjects[{index}] must have exactly the keys type, id and label")
        if not all(isinstance(subject[key], str) for key in _SUBJECT_KEYS):
            raise ValueError(f"subjects[{index}]: type, id and label must be strings")
        if not SUBJECT_TYPE_RE.match(subject["type"]):
            raise ValueError(f"subjects[{index}]: type must look like 'app_label.model_name'")
        if not subject["id"]:
            raise ValueError(f"subjects[{index}]: id may not be empty")
    _check_json(list(subjects), "subjects")


def canonical_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed members of `event`, validated and normalised to their canonical JSON values.

    `event` maps at least the names in `HASHED_FIELDS`; other keys (such as ``hash``) are
    ignored. ``created_at`` may be an aware datetime or its canonical string; ``actor_id`` may
    be an integer or a string. Raises ValueError when anything is malformed.
    """
    missing = [name for name in HASHED_FIELDS if name not in event]
    if missing:
        raise ValueError(f"missing fields: {', '.join(missing)}")
    seq = event["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SAFE_INTEGER:
        raise ValueError("seq must be a positive integer")
    created_at = event["created_at"]
    if isinstance(created_at, str):
        if not TIMESTAMP_RE.match(created_at):
            raise ValueError("created_at text must be YYYY-MM-DDTHH:MM:SS.ffffffZ")
    else:
        created_at = format_timestamp(created_at)
    if event["actor_kind"] not in ACTOR_KINDS:
        raise ValueError(f"actor_kind must be one of {sorted(ACTOR_KINDS)}")
    if not isinstance(event["actor_label"], str) or not event["actor_label"]:
        raise ValueError("actor_label must be a non-empty string")
    _check_text(event["actor_label"], "actor_label")
    actor_id = event["actor_id"]
    if actor_id is not None:
        if isinstance(actor_id, bool) or not isinstance(actor_id, int | str):
            raise ValueError("actor_id must be an integer, a string or None")
        actor_id = str(actor_id)
        _check_text(actor_id, "actor_id")
    if (event["actor_kind"] == "user") != (actor_id is not None):
        raise ValueError("actor_id is required for user actors and only for them")
    action = event["action"]
    if not isinstance(action, str) or not ACTION_RE.match(action):
        raise ValueError(
            f"action {action!r} must be namespaced lowercase, e.g. 'version.published'"
        )
    _check_subjects(event["subjects"])
    if event["visibility"] not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {sorted(VISIBILITIES)}")
    if not isinstance(event["data"], dict):
        raise ValueError("data must be a JSON object (dict)")
    _check_json(event["data"], "data")
    prev_hash = event["prev_hash"]
    if not isinstance(prev_hash, str) or not HASH_RE.match(prev_hash):
        raise ValueError("prev_hash must be 64 lowercase hex digits")
    return {
        "seq": seq,
        "created_at": created_at,
        "actor_kind": event["actor_kind"],
        "actor_label": event["actor_label"],
        "actor_id": actor_id,
        "action": action,
        "subjects": [dict(subject) for subject in event["subjects"]],
        "visibility": event["visibility"],
        "data": event["data"],
        "prev_hash": prev_hash,
    }


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """The canonical encoding of `event` (see the module docstring). Raises ValueError."""
    return json.dumps(
        canonical_fields(event),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def event_hash(event: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical encoding, as 64 lowercase hex digits. Raises ValueError."""
    return hashlib.sha256(canonical_bytes(event)).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of checking a chain.

    `count` is the number of events that checked out (all of them when `ok`); `head_hash` is
    the hash of the last of those (`GENESIS_HASH` when there are none). On failure
    `first_bad_seq` is the chain position where the check failed and `reason` says why.
    """

    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(events: Iterable[Mapping[str, Any]]) -> VerifyResult:
    """Check a chain of events given in `seq` order; stop at the first bad one.

    Each event maps the names in `HASHED_FIELDS` plus ``hash``. The iterable is consumed once
    and nothing is kept but the previous event's hash, so memory is constant.
    """
    count = 0
    head = GENESIS_HASH
    for event in events:
        position = count + 1
        seq = event.get("seq")
        if seq != position:
            if isinstance(seq, int) and seq > position:
                reason = f"expected seq {position}, found {seq}: events are missing"
            else:
                reason = f"expected seq {position}, found {seq!r}: out of order or repeated"
            return VerifyResult(False, count, head, position, reason)
        if event.get("prev_hash") != head:
            return VerifyResult(
                False, count, head, position, "prev_hash does not match the previous event's hash"
            )
        try:
            recomputed = event_hash(event)
        except ValueError as exc:
            return VerifyResult(False, count, head, position, f"cannot be encoded: {exc}")
        if event.get("hash") != recomputed:
            return VerifyResult(
                False, count, head, position, "hash does not match the event's content"
            )
        count = position
        head = recomputed
    return VerifyResult(True, count, head)
