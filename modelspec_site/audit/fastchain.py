"""A faster way to the same hashes as `chain.event_hash`, for reading the whole ledger.

`chain` is the reference (standard library only; it is also the offline verifier). Encoding
with the standard library's ``json`` runs at about 155,000 events/s here; verifying a large
ledger wants more. orjson with ``OPT_SORT_KEYS`` writes exactly the canonical bytes for the
values it is given here (tests/audit/test_exports.py proves it against ``json.dumps`` with
hypothesis): keys sorted by code point, no whitespace, non-ASCII as UTF-8, the same escapes.

It is used only where that equivalence is certain. A row is hashed here only when its JSON
text cannot hold what the reference refuses or encodes differently: no number with a fraction
or an exponent (floats), no run of 16 digits (integers beyond 2**53), at most `chain.MAX_DEPTH`
brackets (nesting), and every other field of the expected type and form. Anything else, and
any row whose fast hash differs from the stored one, goes through `chain` itself, so the
verdict and its reason are always the reference's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from modelspec_site.audit import chain

try:  # optional: without it every row takes the reference path
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None

# (seq, created_at text, actor_kind, actor_label, actor_id, action, subjects JSON text,
#  visibility, data JSON text, prev_hash, hash): what `selectors.ledger_rows` yields.
Row = tuple[int, str, str, str, Any, str, str, str, str, str, str]

# jsonb writes numbers as PostgreSQL numerics: never with an exponent, so a float always has a
# ".". A text without "." holds no float; one with "." is searched for a digit before it.
_FLOAT = re.compile(rb"[0-9]\.")
# Integers beyond 2**64 would come back from orjson as floats: they have 16 digits or more.
_LONG_INT = re.compile(rb"[0-9]{16}")
_SUBJECT_KEYS = frozenset({"type", "id", "label"})
_SORTED_STRICT = (orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER) if orjson else 0
# Validated values that repeat on almost every row (actions, subject types).
_good_actions: set[str] = set()
_good_types: set[str] = set()


def _plain_numbers(text: str) -> bool:
    raw = text.encode()
    return not ("." in text and _FLOAT.search(raw)) and not _LONG_INT.search(raw)


def row_event(row: Row) -> dict[str, Any]:
    """The event of a row as `chain` takes it (JSON decoded by the standard library)."""
    seq, created_at, kind, label, actor_id, action, subjects, visibility, data, prev, digest = row
    return {
        "seq": seq,
        "created_at": created_at,
        "actor_kind": kind,
        "actor_label": label,
        "actor_id": None if actor_id is None else str(actor_id),
        "action": action,
        "subjects": json.loads(subjects),
        "visibility": visibility,
        "data": json.loads(data),
        "prev_hash": prev,
        "hash": digest,
    }


def fast_hash(row: Row) -> str | None:
    """The row's hash by the fast encoder, or None when the row must take the reference path.

    Only the fields the database itself wrote need no check: created_at comes from to_char
    in the canonical form, and prev_hash is compared with the previous verified hash."""
    if orjson is None:
        return None
    seq, created_at, kind, label, actor_id, action, subjects, visibility, data, prev, _h = row
    if (
        kind not in chain.ACTOR_KINDS
        or visibility not in chain.VISIBILITIES
        or not label
        or (kind == "user") != (actor_id is not None)
        or subjects.count("{") + subjects.count("[") > chain.MAX_DEPTH
        or data.count("{") + data.count("[") > chain.MAX_DEPTH
        or not _plain_numbers(subjects)
        or not _plain_numbers(data)
    ):
        return None
    if action not in _good_actions:
        if not chain.ACTION_RE.match(action):
            return None
        _good_actions.add(action)
    subject_list = orjson.loads(subjects)
    data_object = orjson.loads(data)
    if type(subject_list) is not list or type(data_object) is not dict:
        return None
    for subject in subject_list:
        if (
            type(subject) is not dict
            or subject.keys() != _SUBJECT_KEYS
            or type(subject["type"]) is not str
            or type(subject["id"]) is not str
            or type(subject["label"]) is not str
            or not subject["id"]
        ):
            return None
        if subject["type"] not in _good_types:
            if not chain.SUBJECT_TYPE_RE.match(subject["type"]):
                return None
            _good_types.add(subject["type"])
    fields = {
        "seq": seq,
        "created_at": created_at,
        "actor_kind": kind,
        "actor_label": label,
        "actor_id": None if actor_id is None else str(actor_id),
        "action": action,
        "subjects": subject_list,
        "visibility": visibility,
        "data": data_object,
        "prev_hash": prev,
    }
    try:
        encoded = orjson.dumps(fields, option=_SORTED_STRICT)
    except orjson.JSONEncodeError:  # an integer beyond 2**53: the reference says why
        return None
    return hashlib.sha256(encoded).hexdigest()


def verify_rows(
    rows: Iterable[Row], *, watch: int | None = None
) -> tuple[chain.VerifyResult, str | None]:
    """`chain.verify_chain` over ledger rows, hashing by the fast encoder where it is exact,
    and the hash of event number `watch` (None if the chain does not reach it).

    The same checks in the same order; a row the fast path cannot vouch for (or whose fast hash
    differs from the stored one) is handed to `chain` to decide."""
    count = 0
    head = chain.GENESIS_HASH
    watched = None
    for row in rows:
        position = count + 1
        seq, prev, stored = row[0], row[9], row[10]
        if seq != position or prev != head:
            return _reference(row, count, head), watched
        if fast_hash(row) != stored:
            result = _reference(row, count, head)
            if not result.ok:
                return result, watched
        count, head = position, stored
        if position == watch:
            watched = stored
    return chain.VerifyResult(True, count, head), watched


def _reference(row: Row, count: int, head: str) -> chain.VerifyResult:
    """The reference verdict on one row, given the chain so far."""

    event = row_event(row)
    position = count + 1
    if event["seq"] != position:
        seq = event["seq"]
        if isinstance(seq, int) and seq > position:
            reason = f"expected seq {position}, found {seq}: events are missing"
        else:
            reason = f"expected seq {position}, found {seq!r}: out of order or repeated"
        return chain.VerifyResult(False, count, head, position, reason)
    if event["prev_hash"] != head:
        return chain.VerifyResult(
            False, count, head, position, "prev_hash does not match the previous event's hash"
        )
    try:
        recomputed = chain.event_hash(event)
    except ValueError as exc:
        return chain.VerifyResult(False, count, head, position, f"cannot be encoded: {exc}")
    if event["hash"] != recomputed:
        return chain.VerifyResult(
            False, count, head, position, "hash does not match the event's content"
        )
    return chain.VerifyResult(True, position, recomputed)
