"""Re-checking the stored ledger against its hash chain (and, optionally, a checkpoint).

Three ways to read it, with the same verdicts on an untouched ledger:

- **stored** (the default): every event keeps the exact text it was hashed over
  (``canonical``), and PostgreSQL refuses any row whose columns differ from that text (the
  CHECK constraint ``audit_event_canonical_matches``, migration 0005). Unlike the append-only
  triggers, a CHECK constraint cannot be switched off, only dropped; so this way first checks
  that the constraint is there, validated and unchanged, then streams ``seq, prev_hash, hash,
  canonical`` with ``COPY`` and checks the numbering, the links and the SHA-256 of each text.
  It trusts PostgreSQL to have enforced its own constraint on every row.
- **recompute**: re-encodes every row from its columns (`fastchain`, falling back to `chain`),
  trusting nothing but the columns; several times slower.
- **reference**: reads rows through the ORM and hashes with `chain` alone; slowest.

A forger who rewrites an event and every hash after it produces a chain that is consistent
again; only a checkpoint kept elsewhere can tell (`audit_verify_checkpoint`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from psycopg import OperationalError, pq

from modelspec_site.audit import chain, fastchain
from modelspec_site.audit.models import Event
from modelspec_site.audit.selectors import ledger_rows

_COLUMNS = (*chain.HASHED_FIELDS, "hash")

CANONICAL_CONSTRAINT = "audit_event_canonical_matches"
# As written by migration audit/0005_canonical (kept apart from it: migrations stay frozen).
# PostgreSQL's own rendering of both is compared, so layout and spelling do not matter.
CANONICAL_CHECK = """CHECK (canonical::jsonb = jsonb_build_object(
    'seq', seq,
    'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor_kind', actor_kind, 'actor_label', actor_label, 'actor_id', actor_id::text,
    'action', action, 'subjects', subjects, 'visibility', visibility, 'data', data,
    'prev_hash', prev_hash))"""

_STREAM = "COPY (SELECT seq, prev_hash, hash, canonical FROM audit_event ORDER BY seq) TO STDOUT"
# COPY's text format writes a backslash as two and control characters as \b \f \n \r \t \v.
_COPY_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_COPY_CHARACTERS = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _stored_events(chunk_size: int) -> Iterator[dict[str, Any]]:
    # A server-side cursor over one snapshot: constant memory, and appends that commit while
    # it runs are simply not part of this check.
    return Event.objects.order_by("seq").values(*_COLUMNS).iterator(chunk_size=chunk_size)


def audit_verify(
    *, chunk_size: int = 10_000, reference: bool = False, recompute: bool = False
) -> chain.VerifyResult:
    """Check the whole chain in the database and report the first bad event, if any: from the
    stored canonical text by default, re-encoding the columns with `recompute`, or through
    the ORM and `chain` alone with `reference` (see the module docstring)."""
    if reference:
        return chain.verify_chain(_stored_events(chunk_size))
    if recompute:
        return fastchain.verify_rows(ledger_rows(chunk_size=chunk_size))[0]
    return verify_stored()[0]


def audit_verify_checkpoint(
    *, head_hash: str, count: int | None, chunk_size: int = 10_000, recompute: bool = False
) -> chain.VerifyResult:
    """Check the whole chain and that event `count` still has the checkpoint's hash (history
    only grew since); without `count`, that the head is `head_hash`."""
    if recompute:
        result, at_count = fastchain.verify_rows(ledger_rows(chunk_size=chunk_size), watch=count)
    else:
        result, at_count = verify_stored(watch=count)
    return chain.checkpoint_verdict(
        result, head_hash=head_hash, count=count, hash_at_count=at_count
    )


# --- The stored way ------------------------------------------------------------------------


def constraint_problem() -> str | None:
    """Why the columns of stored events can no longer be trusted to match their hashed text,
    or None when the CHECK constraint is in force as migration 0005 made it."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE conrelid = 'audit_event'::regclass AND conname = %s AND contype = 'c'",
            [CANONICAL_CONSTRAINT],
        )
        live = cursor.fetchone()
        if live is None:
            return (
                f"the constraint {CANONICAL_CONSTRAINT} is missing: events' columns may differ "
                "from the text they were hashed over (verify_audit --recompute checks them)"
            )
        if not live[1]:
            return (
                f"the constraint {CANONICAL_CONSTRAINT} is NOT VALID: rows written while it was "
                "off were never checked (verify_audit --recompute checks them)"
            )
        # PostgreSQL's rendering of the expected expression, on an empty copy of the table.
        with transaction.atomic():
            cursor.execute("CREATE TEMP TABLE audit_event_shape (LIKE audit_event)")
            cursor.execute(f"ALTER TABLE audit_event_shape ADD CONSTRAINT shape {CANONICAL_CHECK}")
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'audit_event_shape'::regclass AND conname = 'shape'"
            )
            expected = cursor.fetchone()[0]
            transaction.set_rollback(True)
        if live[0] != expected:
            return (
                f"the constraint {CANONICAL_CONSTRAINT} has been changed: events' columns may "
                "differ from the text they were hashed over (verify_audit --recompute checks them)"
            )
    return None


def _copy_lines(cursor: Any, sql: str) -> Iterator[bytes]:
    """The rows of ``COPY (...) TO STDOUT`` in text format, without their newline.

    Rows are read with libpq's own call (psycopg's documented low-level ``pq`` interface):
    iterating psycopg's ``Copy`` costs a few microseconds of Python per row, more than the
    hashing. The protocol sends each row as one message (PostgreSQL documents this). Leaving
    early lets ``Copy`` cancel the rest and drain it."""
    with cursor.copy(sql):
        pgconn = cursor.connection.pgconn
        while True:
            size, message = pgconn.get_copy_data(0)  # 0: wait for the next row
            if size == -1:  # the end: collect the final result, as psycopg would
                result = pgconn.get_result()
                while pgconn.get_result() is not None:
                    pass
                if result is None or result.status != pq.ExecStatus.COMMAND_OK:
                    raise OperationalError(pgconn.get_error_message().decode(errors="replace"))
                return
            if size < 0:
                raise OperationalError(pgconn.get_error_message().decode(errors="replace"))
            row = bytes(message)
            if row.find(b"\n") != size - 1:
                raise OperationalError("COPY sent a message that is not one row")
            yield row[:-1]


def _copy_unescape(text: bytes) -> bytes:
    """A COPY text field as stored. Valid canonical JSON holds no control characters, so its
    only escape is the doubled backslash; other escapes are decoded exactly."""
    if b"\\" not in text.replace(b"\\\\", b""):
        return text.replace(b"\\\\", b"\\")
    return _COPY_ESCAPE.sub(lambda m: _COPY_CHARACTERS.get(m.group(1), m.group(1)), text)


def verify_stored(*, watch: int | None = None) -> tuple[chain.VerifyResult, str | None]:
    """The stored way (module docstring), and the hash of event number `watch` (None if the
    chain does not reach it). One COPY over one snapshot: constant memory; rows appended while
    it runs are not part of this check."""
    problem = constraint_problem()
    if problem:
        return chain.VerifyResult(False, 0, chain.GENESIS_HASH, None, problem), None
    with transaction.atomic(), connection.cursor() as cursor:
        # In seq order from the primary key's index, as a stream: a sort would first read the
        # whole table before the first row could be hashed.
        cursor.execute("SELECT current_setting('enable_sort')")
        enable_sort = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('enable_sort', 'off', true)")
        lines = _copy_lines(cursor.cursor, _STREAM)
        try:
            return _check_lines(lines, watch)
        finally:
            lines.close()
            cursor.execute("SELECT set_config('enable_sort', %s, true)", [enable_sort])


def _check_lines(
    lines: Iterable[bytes], watch: int | None
) -> tuple[chain.VerifyResult, str | None]:
    count, head, watched = 0, chain.GENESIS_HASH.encode(), None
    sha256 = hashlib.sha256
    for line in lines:
        seq, prev, digest, text = line.split(b"\t", 3)
        position = count + 1
        if int(seq) != position or prev != head:
            return _break(int(seq), position, count, head), watched
        if b"\\" in text:
            text = _copy_unescape(text)
        if sha256(text).hexdigest().encode() != digest:
            reason = "hash does not match the event's content"
            return chain.VerifyResult(False, count, head.decode(), position, reason), watched
        count, head = position, digest
        if position == watch:
            watched = digest.decode()
    return chain.VerifyResult(True, count, head.decode()), watched


def _break(seq: int, position: int, count: int, head: bytes) -> chain.VerifyResult:
    """The verdict on a row out of place or not linked, in the reference's words."""
    if seq > position:
        reason = f"expected seq {position}, found {seq}: events are missing"
    elif seq != position:
        reason = f"expected seq {position}, found {seq}: out of order or repeated"
    else:
        reason = "prev_hash does not match the previous event's hash"
    return chain.VerifyResult(False, count, head.decode(), position, reason)
