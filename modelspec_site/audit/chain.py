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

import argparse
import base64
import csv
import hashlib
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# Python 3.10 has no datetime.UTC; this module must run there (it is the offline verifier).
UTC = timezone.utc  # noqa: UP017

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


def _plain(value: Any, depth: int = 0) -> bool:
    """True when `value` is certainly acceptable to `_check_json`: exact built-in types only, no
    message built. False means "not sure": `_check_json` then decides and explains (it also
    accepts subclasses such as an OrderedDict)."""
    if depth > MAX_DEPTH:
        return False
    kind = type(value)
    if kind is str:
        return "\x00" not in value and (value.isascii() or _encodable(value))
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if value is None or kind is bool:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _plain(key) or not _plain(item, depth + 1):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain(item, depth + 1) for item in value)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_json(value: Any, where: str, depth: int = 0) -> None:
    """Raise ValueError unless `value` is plain JSON that survives a jsonb round trip."""
    if _plain(value, depth):  # the common case, without building a path for every value
        return
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


def encode_canonical(fields: Mapping[str, Any]) -> bytes:
    """The canonical encoding of fields that `canonical_fields` already returned."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """The canonical encoding of `event` (see the module docstring). Raises ValueError."""
    return encode_canonical(canonical_fields(event))


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


def verify_chain(
    events: Iterable[Mapping[str, Any]], *, allow_redacted: bool = False
) -> VerifyResult:
    """Check a chain of events given in `seq` order; stop at the first bad one.

    Each event maps the names in `HASHED_FIELDS` plus ``hash``. The iterable is consumed once
    and nothing is kept but the previous event's hash, so memory is constant.

    With `allow_redacted`, an event marked ``"redacted": true`` (as in a public export: only
    ``seq``, ``created_at``, ``visibility``, ``prev_hash`` and ``hash``) is checked
    by linkage alone: its position, its ``prev_hash`` and the form of its ``hash``, which is
    taken as given because its content is withheld.
    """
    count = 0
    head = GENESIS_HASH
    for event in events:
        position = count + 1
        if not isinstance(event, Mapping):
            return VerifyResult(False, count, head, position, f"unreadable entry: {event!r}"[:300])
        seq = event.get("seq")
        if seq != position or isinstance(seq, bool):
            if isinstance(seq, int) and not isinstance(seq, bool) and seq > position:
                reason = f"expected seq {position}, found {seq}: events are missing"
            else:
                reason = f"expected seq {position}, found {seq!r}: out of order or repeated"
            return VerifyResult(False, count, head, position, reason)
        if event.get("prev_hash") != head:
            return VerifyResult(
                False, count, head, position, "prev_hash does not match the previous event's hash"
            )
        if event.get("redacted") is True:
            recomputed = event.get("hash")
            if not allow_redacted:
                return VerifyResult(
                    False, count, head, position, "redacted entry where full events are required"
                )
            if not isinstance(recomputed, str) or not HASH_RE.match(recomputed):
                return VerifyResult(
                    False, count, head, position, "redacted entry without a well-formed hash"
                )
        else:
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


def verify_against_checkpoint(
    events: Iterable[Mapping[str, Any]],
    *,
    head_hash: str,
    count: int | None = None,
    allow_redacted: bool = False,
) -> VerifyResult:
    """Check a chain and that it agrees with a checkpoint.

    Without `count`, the chain's last event must be the checkpoint's head (`head_hash`). With
    `count`, the chain may be longer (history grew since), but its event number `count` must
    have the hash `head_hash`: a chain rewritten and re-hashed from an older event onwards is
    internally consistent, and only this comparison with a hash kept elsewhere reveals it.
    """
    at_count: list[Any] = [None]

    def watched(source: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for event in source:
            if count is not None and isinstance(event, Mapping) and event.get("seq") == count:
                at_count[0] = event.get("hash")
            yield event

    result = verify_chain(watched(events), allow_redacted=allow_redacted)
    return checkpoint_verdict(result, head_hash=head_hash, count=count, hash_at_count=at_count[0])


def checkpoint_verdict(
    result: VerifyResult, *, head_hash: str, count: int | None, hash_at_count: str | None
) -> VerifyResult:
    """Combine a chain check with a checkpoint (see `verify_against_checkpoint`).
    `hash_at_count` is the checked chain's hash of event `count`."""
    if not result.ok:
        return result
    if count is None:
        if result.head_hash != head_hash:
            return VerifyResult(
                False,
                result.count,
                result.head_hash,
                max(result.count, 1),
                f"the chain's head {result.head_hash} is not the checkpoint's {head_hash}",
            )
        return result
    if count == 0:
        if head_hash != GENESIS_HASH:
            return VerifyResult(
                False, result.count, result.head_hash, 1, "a checkpoint of 0 events has head 0*64"
            )
        return result
    if result.count < count:
        return VerifyResult(
            False,
            result.count,
            result.head_hash,
            result.count + 1,
            f"the chain has {result.count} events; the checkpoint counts {count}: "
            "events were removed",
        )
    if hash_at_count != head_hash:
        return VerifyResult(
            False,
            result.count,
            result.head_hash,
            count,
            f"event {count} has hash {hash_at_count}, the checkpoint says {head_hash}: "
            f"history up to event {count} was rewritten",
        )
    return result


# --- Export files ------------------------------------------------------------------------------
#
# JSON Lines: one JSON object per line, in seq order: the ten hashed fields (created_at as its
# canonical text, actor_id a string or null) plus "hash". In a PUBLIC export every event is
# redacted to {"seq", "created_at", "visibility", "prev_hash", "hash", "redacted": true}: its
# place, time and hash are shown, its content is not (see modelspec_site/audit/exports.py).
#
# CSV: a header row, then one row per event with the columns in `CSV_COLUMNS`; "subjects" and
# "data" hold JSON text, an empty "actor_id" means null, "redacted" is "true" or "false" (a
# redacted row leaves the content columns empty).

CSV_COLUMNS: tuple[str, ...] = (*HASHED_FIELDS, "hash", "redacted")
REDACTED_FIELDS: tuple[str, ...] = ("seq", "created_at", "visibility", "prev_hash", "hash")


class ExportFormatError(ValueError):
    """An export file that cannot be read as JSON Lines or CSV."""


def _csv_event(row: Mapping[str, str], line: int) -> dict[str, Any]:
    try:
        event: dict[str, Any] = {"seq": int(row["seq"])}
    except (KeyError, TypeError, ValueError):
        return {"seq": None, "line": line}
    if row.get("redacted") == "true":
        event.update({name: row.get(name) for name in REDACTED_FIELDS if name != "seq"})
        event["redacted"] = True
        return event
    for name in CSV_COLUMNS:
        if name in ("seq", "redacted"):
            continue
        value = row.get(name)
        if name in ("subjects", "data"):
            try:
                value = json.loads(value or "")
            except ValueError:
                value = None
        elif name == "actor_id":
            value = value or None
        event[name] = value
    return event


def read_export(stream: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The events of an export, read lazily from an iterable of text lines (an open file).

    The format is told by the first non-blank character: ``{`` for JSON Lines, anything else
    for CSV. A line that is not valid JSON yields ``{"seq": None}`` so that verification fails
    at that position.
    """
    lines = iter(stream)
    first = ""
    for first in lines:
        if first.strip():
            break
    else:
        return
    if first.lstrip().startswith("{"):
        for line in _chained(first, lines):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                yield {"seq": None}
        return
    csv.field_size_limit(2**31 - 1)
    reader = csv.DictReader(_chained(first, lines))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise ExportFormatError(
            f"CSV header must be {','.join(CSV_COLUMNS)}; found {','.join(reader.fieldnames or [])}"
        )
    for row in reader:
        yield _csv_event(row, reader.line_num)


def _chained(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


# --- Checkpoints -------------------------------------------------------------------------------


def checkpoint_message(*, count: int, head_hash: str, created_at: str) -> bytes:
    """The exact bytes a checkpoint's Ed25519 signature covers (UTF-8, four lines)."""
    return (
        f"modelspec-ledger-checkpoint:1\ncount:{count}\nhead:{head_hash}\ntime:{created_at}\n"
    ).encode()


def public_key_id(raw_public_key: bytes) -> str:
    """A short name for a signing key: the first 16 hex digits of SHA-256 of its 32 raw bytes."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def load_public_key(text: str) -> bytes:
    """The 32 raw bytes of an Ed25519 public key given as PEM or as base64 of the raw bytes."""
    text = text.strip()
    if "-----BEGIN PUBLIC KEY-----" in text:
        body = "".join(line for line in text.splitlines() if not line.startswith("-----"))
        der = base64.b64decode(body)
        # SubjectPublicKeyInfo for Ed25519 is a fixed 12-byte prefix and the 32-byte key.
        if len(der) != 44 or not der.startswith(bytes.fromhex("302a300506032b6570032100")):
            raise ValueError("not an Ed25519 public key")
        return der[12:]
    raw = base64.b64decode(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return raw


def checkpoint_signature_valid(checkpoint: Mapping[str, Any], raw_public_key: bytes) -> bool:
    """Whether `checkpoint` (count, head_hash, created_at, signature as base64) was signed by
    that key. Needs the `cryptography` package; raises RuntimeError without it."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise RuntimeError("checking signatures needs the 'cryptography' package") from exc
    message = checkpoint_message(
        count=int(checkpoint["count"]),
        head_hash=str(checkpoint["head_hash"]),
        created_at=str(checkpoint["created_at"]),
    )
    try:
        Ed25519PublicKey.from_public_bytes(raw_public_key).verify(
            base64.b64decode(str(checkpoint["signature"])), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True


# --- Command line: this file is also the standalone offline verifier ----------------------------

USAGE_EXAMPLE = """examples:
  python verify_ledger_export.py ledger.jsonl --checkpoint 3f9a...e1 --count 120345
  python verify_ledger_export.py ledger.csv --checkpoint-file checkpoint.json --public-key key.pem
"""


def main(argv: list[str] | None = None, *, out: io.TextIOBase | None = None) -> int:
    """Verify an export file against a checkpoint. Exit status 0 when it holds, 1 naming the
    first bad sequence number when it does not, 2 when the input cannot be used."""
    stdout = out or sys.stdout
    stderr = out or sys.stderr
    parser = argparse.ArgumentParser(
        prog="verify_ledger_export",
        description=(
            "Check a ledger export (JSON Lines or CSV, full or public) offline: recompute every "
            "event's hash and the chain's linkage, and compare with a published checkpoint."
        ),
        epilog=USAGE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("export", help="the export file ('-' for standard input)")
    parser.add_argument("--checkpoint", metavar="HASH", help="the checkpoint's head hash")
    parser.add_argument(
        "--count",
        type=int,
        metavar="N",
        help="the checkpoint's event count: event N must have that hash (the export may be "
        "longer). Without it, the export's last event must be the checkpoint's head.",
    )
    parser.add_argument(
        "--checkpoint-file",
        metavar="FILE",
        help="a checkpoint as JSON (count, head_hash, created_at, signature, key_id), as the "
        "site publishes it",
    )
    parser.add_argument(
        "--public-key",
        metavar="FILE",
        help="the site's Ed25519 public key (PEM or base64): check the checkpoint's signature "
        "(needs the 'cryptography' package)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="refuse redacted entries (an auditor's full export must have none)",
    )
    args = parser.parse_args(argv)

    head_hash, count = args.checkpoint, args.count
    if args.checkpoint_file:
        try:
            with open(args.checkpoint_file, encoding="utf-8") as handle:
                checkpoint = json.load(handle)
            head_hash, count = str(checkpoint["head_hash"]), int(checkpoint["count"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            stderr.write(f"ERROR: cannot read the checkpoint file: {exc}\n")
            return 2
        if args.public_key:
            try:
                with open(args.public_key, encoding="utf-8") as handle:
                    key = load_public_key(handle.read())
                valid = checkpoint_signature_valid(checkpoint, key)
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                stderr.write(f"ERROR: cannot check the signature: {exc}\n")
                return 2
            if not valid:
                stderr.write("FAILED: the checkpoint's signature does not match the key\n")
                return 1
            stdout.write(f"signature OK (key {public_key_id(key)})\n")
    elif args.public_key:
        stderr.write("ERROR: --public-key needs --checkpoint-file (the signed checkpoint)\n")
        return 2
    if head_hash is None:
        stderr.write("ERROR: give --checkpoint HASH (and --count N) or --checkpoint-file\n")
        return 2
    if not HASH_RE.match(head_hash):
        stderr.write("ERROR: a checkpoint hash is 64 lowercase hex digits\n")
        return 2

    try:
        handle = (
            sys.stdin if args.export == "-" else open(args.export, encoding="utf-8", newline="")  # noqa: SIM115
        )
    except OSError as exc:
        stderr.write(f"ERROR: cannot open the export: {exc}\n")
        return 2
    try:
        result = verify_against_checkpoint(
            read_export(handle),
            head_hash=head_hash,
            count=count,
            allow_redacted=not args.full,
        )
    except (ExportFormatError, UnicodeDecodeError, csv.Error) as exc:
        stderr.write(f"ERROR: cannot read the export: {exc}\n")
        return 2
    finally:
        if handle is not sys.stdin:
            handle.close()
    return report(result, head_hash=head_hash, count=count, out=stdout, err=stderr)


def report(
    result: VerifyResult,
    *,
    head_hash: str,
    count: int | None,
    out: Any,
    err: Any,
) -> int:
    """Print the outcome the way `verify_audit` does; return the exit status."""
    if result.ok:
        at = f"event {count}" if count is not None else "the head"
        out.write(
            f"OK: {result.count} events, head {result.head_hash}; "
            f"checkpoint {head_hash} matches {at}\n"
        )
        return 0
    err.write(f"FAILED at seq {result.first_bad_seq}: {result.reason}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
