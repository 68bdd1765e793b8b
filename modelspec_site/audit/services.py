"""Writing to the ledger. One function: `audit_record`."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import models, transaction
from django.utils import timezone

from modelspec_site.audit import chain
from modelspec_site.audit.models import ActorKind, Event, Visibility

# Key of the transaction-level advisory lock that serialises appends ("modelspe" in ASCII).
# Anything else that takes this key blocks ledger writes until it commits.
LEDGER_LOCK_KEY = 0x6D6F_6465_6C73_7065

Actor = Any  # a user instance, AnonymousUser, None, "system" or "anonymous"
Subject = models.Model | Mapping[str, str]


def _actor_fields(actor: Actor) -> tuple[str, str, Any]:
    """(actor_kind, actor_label, user or None) for the accepted spellings of an actor."""
    if actor is None or actor == "system":
        return ActorKind.SYSTEM, "system", None
    if actor == "anonymous" or isinstance(actor, AnonymousUser):
        return ActorKind.ANONYMOUS, "anonymous", None
    if isinstance(actor, get_user_model()):
        if actor.pk is None:
            raise ValueError("actor must be a saved user")
        return ActorKind.USER, actor.get_username(), actor
    raise ValueError(f"actor must be a user, None, 'system' or 'anonymous', not {actor!r}")


def _subject_ref(subject: Subject) -> dict[str, str]:
    """A subject reference {type, id, label} for a model instance, or a copy of a ready one."""
    if isinstance(subject, models.Model):
        if subject.pk is None:
            raise ValueError(f"subject {subject!r} is not saved")
        return {"type": subject._meta.label_lower, "id": str(subject.pk), "label": str(subject)}
    if isinstance(subject, Mapping):
        return dict(subject)
    raise ValueError(f"subjects must be model instances or dicts, not {type(subject).__name__}")


def audit_record(
    *,
    actor: Actor,
    action: str,
    subjects: Iterable[Subject] = (),
    data: dict[str, Any] | None = None,
    visibility: str = Visibility.PUBLIC,
) -> Event:
    """Append one event to the ledger and return it.

    Call it from the service that makes the change, inside that service's
    ``transaction.atomic()`` block, after the change: the event and the change then commit or
    roll back together, so the ledger never records something that did not happen and nothing
    happens without an entry. Outside a transaction it raises RuntimeError.

    `actor` is a user, or None / ``"system"`` for the system, or ``"anonymous"`` (an
    ``AnonymousUser`` counts as anonymous). `action` is namespaced and past tense
    (``version.published``). `subjects` are model instances (recorded as
    ``{"type": "app_label.model_name", "id": str(pk), "label": str(obj)}``) or ready dicts of
    that shape. `data` must be plain JSON without floats (see `chain`); anything else raises
    ValueError before the ledger is touched.

    Appends are serialised by a transaction-level advisory lock held until the caller commits,
    so each event sees the committed predecessor; a chain cannot fork (``seq`` is also the
    primary key). This relies on READ COMMITTED: under REPEATABLE READ a transaction that read
    before taking the lock would collide on ``seq`` and fail with an IntegrityError, never fork.
    Keep the rest of the transaction short: every writer waits for it.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError(
            "audit_record must run inside the transaction of the change it records "
            "(wrap the service in transaction.atomic())"
        )
    kind, label, user = _actor_fields(actor)
    event = Event(
        actor=user,
        actor_kind=kind,
        actor_label=label,
        action=action,
        subjects=[_subject_ref(subject) for subject in subjects],
        visibility=visibility,
        data={} if data is None else data,
    )
    # Validate everything before taking the lock, with placeholder chain fields.
    provisional = event.chain_fields() | {
        "seq": 1,
        "created_at": timezone.now(),
        "prev_hash": chain.GENESIS_HASH,
    }
    chain.canonical_fields(provisional)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK_KEY])
    last = Event.objects.order_by("-seq").values_list("seq", "hash").first()
    event.seq, event.prev_hash = (last[0] + 1, last[1]) if last else (1, chain.GENESIS_HASH)
    # Taken under the lock so that times follow the chain order on one clock.
    event.created_at = timezone.now()
    encoded = chain.canonical_bytes(event.chain_fields())
    event.canonical, event.hash = encoded.decode(), hashlib.sha256(encoded).hexdigest()
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class EventSpec:
    """One event for `audit_record_many`: the arguments of `audit_record`."""

    actor: Actor
    action: str
    subjects: tuple[Subject, ...] = ()
    data: dict[str, Any] | None = None
    visibility: str = Visibility.PUBLIC


def _column_json(value: Any) -> str:
    """JSON text for a jsonb column (not hashed: PostgreSQL parses it, and the CHECK constraint
    compares its value, not its spelling, with the canonical text). orjson is several times
    faster than the standard library here; values were validated as plain JSON already."""
    return orjson.dumps(value).decode()


def audit_record_many(specs: Iterable[EventSpec]) -> list[Event]:
    """Append many events, in order, under one hold of the ledger lock: what `audit_record`
    does for each, with one lock, one read of the head, each event validated and encoded once,
    and one COPY into the table. For a change that records thousands of events at once
    (publishing a version carries every open item). A malformed event raises ValueError
    before anything is written; the caller's transaction then rolls back."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record_many must run inside the transaction of the change")
    prepared = []
    for spec in specs:
        kind, label, user = _actor_fields(spec.actor)
        refs = [_subject_ref(subject) for subject in spec.subjects]
        data = {} if spec.data is None else spec.data
        prepared.append((kind, label, user, spec.action, refs, spec.visibility, data))
    if not prepared:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK_KEY])
    last = Event.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev = (last[0], last[1]) if last else (0, chain.GENESIS_HASH)
    events: list[Event] = []
    rows = []
    for kind, label, user, action, refs, visibility, data in prepared:
        seq += 1
        created_at = timezone.now()
        fields = chain.canonical_fields(
            {
                "seq": seq,
                "created_at": created_at,
                "actor_kind": kind,
                "actor_label": label,
                "actor_id": None if user is None else user.pk,
                "action": action,
                "subjects": refs,
                "visibility": visibility,
                "data": data,
                "prev_hash": prev,
            }
        )
        encoded = chain.encode_canonical(fields)
        digest, canonical = hashlib.sha256(encoded).hexdigest(), encoded.decode()
        events.append(
            Event(
                seq=seq,
                created_at=created_at,
                actor=user,
                actor_kind=kind,
                actor_label=label,
                action=action,
                subjects=refs,
                visibility=visibility,
                data=data,
                prev_hash=prev,
                hash=digest,
                canonical=canonical,
            )
        )
        rows.append(
            (
                seq,
                created_at,
                None if user is None else user.pk,
                kind,
                label,
                action,
                _column_json(refs),
                visibility,
                _column_json(data),
                prev,
                digest,
                canonical,
            )
        )
        prev = digest
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(Event._meta.get_field(name).column)
        for name in (
            "seq", "created_at", "actor", "actor_kind", "actor_label", "action", "subjects",
            "visibility", "data", "prev_hash", "hash", "canonical",
        )
    )  # fmt: skip
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return events


# --- The append as one server-side call (hot write paths) ------------------------------------


@dataclass(frozen=True)
class PreparedEvent:
    """An event ready for the database function `audit_append` (migration
    audit/0003_append_function): its canonical JSON with tokens where the chain fields and the
    slots go. Pass `sql_args(values)` as the function's arguments, in order."""

    canonical: str
    subjects: str
    data: str
    chain_tokens: tuple[str, str, str]
    slot_tokens: tuple[str, ...]
    actor_id: int | None
    actor_kind: str
    actor_label: str
    action: str
    visibility: str

    SQL_CALL = "audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"

    def sql_args(self, slot_values: Iterable[str]) -> list[Any]:
        values = [str(value) for value in slot_values]
        if len(values) != len(self.slot_tokens):
            raise ValueError("give one value per slot")
        return [
            self.canonical,
            self.subjects,
            self.data,
            list(self.chain_tokens),
            list(self.slot_tokens),
            values,
            self.actor_id,
            self.actor_kind,
            self.actor_label,
            self.action,
            self.visibility,
        ]


def audit_slots(*names: str) -> dict[str, str]:
    """Tokens to write in an event's subjects or data where a value is known only in the
    database (a new row's id); `audit_prepare` and `audit_append` replace them. Each call makes
    fresh, unguessable tokens, so no text a user wrote can contain one."""
    nonce = secrets.token_hex(12)
    return {name: f"{nonce}{index}x" for index, name in enumerate(names)}


def audit_prepare(
    *,
    actor: Actor,
    action: str,
    subjects: Iterable[Subject] = (),
    data: dict[str, Any] | None = None,
    visibility: str = Visibility.PUBLIC,
    slots: Mapping[str, str] | None = None,
) -> PreparedEvent:
    """Validate an event as `audit_record` does and prepare it for `audit_append`, which appends
    it inside PostgreSQL. Slot values (known only there) must match ``[A-Za-z0-9 ._:-]*``."""
    kind, label, user = _actor_fields(actor)
    refs = [_subject_ref(subject) for subject in subjects]
    data = {} if data is None else data
    fields = chain.canonical_fields(
        {
            "seq": 1,
            "created_at": timezone.now(),
            "actor_kind": kind,
            "actor_label": label,
            "actor_id": None if user is None else user.pk,
            "action": action,
            "subjects": refs,
            "visibility": visibility,
            "data": data,
            "prev_hash": chain.GENESIS_HASH,
        }
    )
    nonce = secrets.token_hex(12)
    seq_token, at_token, prev_token = f"{nonce}s", f"{nonce}c", f"{nonce}p"
    fields |= {"seq": seq_token, "created_at": at_token, "prev_hash": prev_token}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    canonical = canonical.replace(f'"{seq_token}"', seq_token)  # seq is a JSON number
    return PreparedEvent(
        canonical=canonical,
        subjects=json.dumps(refs, ensure_ascii=False),
        data=json.dumps(data, ensure_ascii=False),
        chain_tokens=(seq_token, at_token, prev_token),
        slot_tokens=tuple((slots or {}).values()),
        actor_id=None if user is None else user.pk,
        actor_kind=kind,
        actor_label=label,
        action=action,
        visibility=visibility,
    )


_NONCE_LENGTH = 24  # secrets.token_hex(12), as in audit_slots and audit_prepare


@dataclass(frozen=True)
class EventTemplate:
    """An event prepared once with `audit_prepare` for many events that differ only in some
    texts: `prepare(**texts)` gives each one fresh tokens and its own texts, as calling
    `audit_prepare` again would, at a fraction of the cost (the hot submission path).

    Build it with `audit_template_marks(names)`: embed each returned mark (an unguessable
    string) where that text goes, in a subject's label or a data string, then pass the
    PreparedEvent and the marks to `EventTemplate.of`, which cuts the texts at every token and
    mark once. Filling joins the pieces: an inserted text is never scanned again."""

    event: PreparedEvent
    marks: Mapping[str, str]
    _tokens: tuple[str, ...]
    # canonical, subjects and data cut at every token and mark: even items are the text
    # between them, odd items the token or mark that goes there.
    _pieces: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]

    @classmethod
    def of(cls, event: PreparedEvent, marks: Mapping[str, str]) -> EventTemplate:
        tokens = (*event.chain_tokens, *event.slot_tokens)
        for token in tokens:
            if len(token) <= _NONCE_LENGTH:
                raise ValueError("tokens must come from audit_slots and audit_prepare")
        for name, mark in marks.items():
            if mark not in event.canonical:
                raise ValueError(f"the mark for {name!r} is not in the event")
        pattern = re.compile(
            "(" + "|".join(re.escape(text) for text in (*tokens, *marks.values())) + ")"
        )
        pieces = tuple(
            tuple(pattern.split(text)) for text in (event.canonical, event.subjects, event.data)
        )
        return cls(event=event, marks=dict(marks), _tokens=tokens, _pieces=pieces)

    def prepare(self, **texts: str) -> PreparedEvent:
        if texts.keys() != self.marks.keys():
            raise ValueError(f"give exactly these texts: {', '.join(sorted(self.marks))}")
        for name, text in texts.items():
            if not isinstance(text, str):
                raise ValueError(f"{name} must be a string")
            chain._check_text(text, name)
        # Chain tokens share one nonce and slot tokens another; each gets a fresh one.
        nonces: dict[str, str] = {}
        table: dict[str, str] = {}
        for token in self._tokens:
            old = token[:_NONCE_LENGTH]
            new = nonces.setdefault(old, secrets.token_hex(12))
            table[token] = new + token[_NONCE_LENGTH:]
        for name, mark in self.marks.items():
            table[mark] = json.dumps(texts[name], ensure_ascii=False)[1:-1]  # inside its quotes

        def fill(pieces: tuple[str, ...]) -> str:
            return "".join(
                table[piece] if index % 2 else piece for index, piece in enumerate(pieces)
            )

        event = self.event
        canonical, subjects, data = self._pieces
        return PreparedEvent(
            canonical=fill(canonical),
            subjects=fill(subjects),
            data=fill(data),
            chain_tokens=tuple(table[token] for token in event.chain_tokens),
            slot_tokens=tuple(table[token] for token in event.slot_tokens),
            actor_id=event.actor_id,
            actor_kind=event.actor_kind,
            actor_label=event.actor_label,
            action=event.action,
            visibility=event.visibility,
        )


def audit_template_marks(*names: str) -> dict[str, str]:
    """Unguessable marks for `EventTemplate` texts (letters and digits only, so JSON writes
    them as themselves)."""
    return {name: f"{secrets.token_hex(12)}m{index}" for index, name in enumerate(names)}
