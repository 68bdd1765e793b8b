"""Ledger exports: JSON Lines and CSV, streamed, for auditors (full) and for the public.

Every line carries what `chain` needs to recompute the chain (the ten hashed fields and
``hash``; formats in `chain`, "Export files"), so an export can be checked offline by
`scripts/verify_ledger_export.py` against a checkpoint.

The PUBLIC export is the chain's skeleton: every event redacted to its number, time,
visibility and hashes. The count, order and linkage of everything are provable against a
checkpoint; no content is shown. Not even public events are shown in full, because the hash
covers content that later stops being public while the ledger cannot change: subject labels
quote what was said (and a moderator may hide it afterwards), a draft's import names the
draft, and the actor label names staff, whose identities are not public. Showing public
content while keeping it verifiable needs per-field salted commitments (a version 2 encoding).

The output is produced row by row from a server-side cursor (`selectors.ledger_rows`) and
yielded in chunks of about `CHUNK_BYTES`: memory stays flat whatever the ledger's length, and
there is no record cap.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from modelspec_site.audit import chain
from modelspec_site.audit.selectors import ledger_rows

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None

CHUNK_BYTES = 256 * 1024
FORMATS = {"jsonl": "application/jsonl; charset=utf-8", "csv": "text/csv; charset=utf-8"}


def _dumps(value: object) -> str:
    if orjson is not None:
        return orjson.dumps(value).decode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _jsonl_line(row: tuple, *, redact: bool) -> str:
    seq, created, kind, label, actor_id, action, subjects, visibility, data, prev, digest = row
    if redact:
        return (
            f'{{"seq":{seq},"created_at":"{created}","visibility":{_dumps(visibility)},'
            f'"prev_hash":"{prev}","hash":"{digest}","redacted":true}}\n'
        )
    # subjects and data are PostgreSQL's jsonb text: valid JSON, spliced as they are.
    return (
        f'{{"seq":{seq},"created_at":"{created}","actor_kind":{_dumps(kind)},'
        f'"actor_label":{_dumps(label)},'
        f'"actor_id":{"null" if actor_id is None else _dumps(str(actor_id))},'
        f'"action":{_dumps(action)},"subjects":{subjects},"visibility":{_dumps(visibility)},'
        f'"data":{data},"prev_hash":"{prev}","hash":"{digest}"}}\n'
    )


def _csv_row(row: tuple, *, redact: bool) -> list:
    seq, created, kind, label, actor_id, action, subjects, visibility, data, prev, digest = row
    if redact:
        return [seq, created, "", "", "", "", "", visibility, "", prev, digest, "true"]
    return [
        seq,
        created,
        kind,
        label,
        "" if actor_id is None else actor_id,
        action,
        subjects,
        visibility,
        data,
        prev,
        digest,
        "false",
    ]


def _chunked(pieces: Iterable[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_BYTES:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def export_jsonl(*, public: bool, rows: Iterable[tuple] | None = None) -> Iterator[bytes]:
    """The ledger as JSON Lines, in byte chunks; `public` redacts what the public may not see."""

    def lines() -> Iterator[str]:
        for row in ledger_rows() if rows is None else rows:
            yield _jsonl_line(row, redact=public)

    return _chunked(lines())


def export_csv(*, public: bool, rows: Iterable[tuple] | None = None) -> Iterator[bytes]:
    """The ledger as CSV (header first), in byte chunks; `public` redacts what the public may
    not see."""

    def lines() -> Iterator[str]:
        source = ledger_rows() if rows is None else rows
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(chain.CSV_COLUMNS)
        for row in source:
            writer.writerow(_csv_row(row, redact=public))
            if out.tell() >= CHUNK_BYTES:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return _chunked(lines())


def export_stream(fmt: str, *, public: bool) -> Iterator[bytes]:
    if fmt == "jsonl":
        return export_jsonl(public=public)
    if fmt == "csv":
        return export_csv(public=public)
    raise ValueError(f"unknown export format {fmt!r}")
