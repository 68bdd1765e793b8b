"""The fast path for the commonest write: an anonymous public submission through the API.

`feedback_submit` (services) does the work in about 17 statements through the ORM; under load
that costs ~11 ms of CPU per submission, far more than the database needs. This path does the
same writes with one database call, the function `feedback_submit_public` (migration
feedback/0004): idempotency claim or replay, comment-period check, tracking number, item,
ledger event (`audit_append`, same chain and lock as `audit_record`) and idempotency record, in
one transaction. What does not change once a version is published (the clause's ids, number,
heading and plain text) is read once per process.

It takes only what it can do exactly as the full path would: anonymous, public, no e-mail (so
no receipt to queue), no example. Anything else — and any refusal, such as a closed comment
period or an unknown clause — returns None and the caller takes the full path, which gives the
full, documented answer. `tests/feedback/api/test_fast_submit.py` checks that both paths store
the same item, event and idempotency record."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections

from modelspec_site.audit.services import (
    EventTemplate,
    audit_prepare,
    audit_slots,
    audit_template_marks,
)
from revisions import pagecache
from revisions.models import ClauseText, Version

from . import anchoring, idempotency
from .models import Kind
from .services import Submission, submitted_event_data, token_hash

_CACHE_SIZE = 4096
_KINDS = frozenset(Kind.values)
_lock = threading.Lock()
_targets: OrderedDict[tuple[int, str], Target | None] = OrderedDict()
_versions: dict[tuple[str, str], Version] = {}
_templates: OrderedDict[tuple[int, int, str, bool], EventTemplate] = OrderedDict()


@dataclass(frozen=True, slots=True)
class Target:
    """A clause of a published version: facts that never change."""

    clause_text_id: int
    clause_id: int
    anchor: str
    label: str  # str(ClauseText)
    plain_text: str


@dataclass(frozen=True, slots=True)
class Created:
    tracking_number: str
    created_at: str  # canonical UTC text, as stored in the idempotency record
    follow_token: str

    def body(self, api_path: tuple[str, str], html_path: tuple[str, str]) -> dict[str, str]:
        return receipt_body(
            number=self.tracking_number,
            created_at=self.created_at,
            follow_token=self.follow_token,
            api_path=api_path,
            html_path=html_path,
        )


@dataclass(frozen=True, slots=True)
class Replayed:
    status: int
    body: dict[str, Any]


def published_version(*, spec: str, label: str) -> Version | None:
    """The published version (spec slug, label), remembered per process once seen published.
    A remembered version that has since been superseded or closed is caught by the database
    function, which checks the state and the comment period itself."""
    key = (spec, label)
    version = _versions.get(key)
    if version is None:
        version = (
            Version.objects.select_related("spec")
            .only("pk", "label", "state", "spec_id", "spec__slug")
            .filter(spec__slug=spec, label=label, state=Version.State.PUBLISHED)
            .first()
        )
        if version is not None and len(_versions) < _CACHE_SIZE:
            _versions[key] = version
    return version


def _target(version: Version, anchor: str) -> Target | None:
    """The clause's fixed facts, cached per process for published and superseded versions
    (their text is immutable); None when the clause is not in the version."""
    key = (version.pk, anchor)
    with _lock:
        if key in _targets:
            _targets.move_to_end(key)
            return _targets[key]
    row = (
        ClauseText.objects.filter(version_id=version.pk, anchor=anchor)
        .values_list("pk", "clause_id", "anchor", "number", "heading", "plain_text")
        .first()
    )
    target = None
    if row is not None:
        pk, clause_id, anchor_, number, heading, plain_text = row
        target = Target(pk, clause_id, anchor_, f"{number} {heading}", plain_text)
    if version.state in (Version.State.PUBLISHED, Version.State.SUPERSEDED):
        with _lock:
            _targets[key] = target
            while len(_targets) > _CACHE_SIZE:
                _targets.popitem(last=False)
    return target


def _event_template(version: Version, target: Target, kind: str, has_passage: bool):
    """The `feedback.submitted` event of an anonymous submission on `target`, prepared once per
    process with a mark where the summary goes (`EventTemplate`): everything else in it is
    fixed for a published version's clause. `prepare(summary=...)` gives an event that is the
    same as `audit_prepare` would make (tests/feedback/api/test_fast_submit.py)."""
    key = (version.pk, target.clause_text_id, kind, has_passage)
    with _lock:
        template = _templates.get(key)
    if template is not None:
        return template
    slots = audit_slots("tracking_number", "item_id")
    marks = audit_template_marks("summary")
    template = EventTemplate.of(
        audit_prepare(
            actor="anonymous",
            action="feedback.submitted",
            subjects=[
                {
                    "type": "feedback.feedbackitem",
                    "id": slots["item_id"],
                    "label": f"{slots['tracking_number']}: {marks['summary']}",
                },
                {
                    "type": "revisions.version",
                    "id": str(version.pk),
                    "label": f"{version.spec.slug} {version.label}",
                },
                {
                    "type": "revisions.clausetext",
                    "id": str(target.clause_text_id),
                    "label": target.label,
                },
            ],
            data=submitted_event_data(
                tracking_number=slots["tracking_number"],
                kind=kind,
                clause=target.anchor,
                example=None,
                has_passage=has_passage,
            ),
            slots=slots,
        ),
        marks,
    )
    with _lock:
        _templates[key] = template
        while len(_templates) > _CACHE_SIZE:
            _templates.popitem(last=False)
    return template


# The function's parameter types, in order (migration feedback/0004), so the call is typed
# exactly and can be prepared once per connection.
_PARAMETER_TYPES = (
    *("text", "text", "text", "integer", "bigint", "bigint", "bigint"),  # key, targets
    *("text", "text", "text", "integer", "integer"),  # passage
    *("text", "text", "text", "text", "text", "jsonb", "text", "text", "text", "text"),  # item
    *("text", "text", "text", "text[]", "text[]", "text"),  # ledger event
    *("text", "text[]"),  # stored response
)
_CALL = "SELECT * FROM feedback_submit_public({})".format(  # noqa: S608 (constant text)
    ", ".join(f"%s::{kind}" for kind in _PARAMETER_TYPES)
)


def _call(args: list[Any], *, retry_safe: bool = False) -> tuple:
    """The call, without the connection health check when a retry is safe.

    Django checks a reused connection with a `SELECT 1` round trip before its first query of a
    request. With an Idempotency-Key the call itself can stand in for that check: if the
    connection turns out to be dead, it is closed and the call made once more on a new one.
    A first attempt that committed before the connection died is then answered by the
    function as a replay of the stored response, so nothing is filed twice."""
    if not retry_safe:
        return _call_once(args)
    if connection.connection is not None:
        connection.health_check_done = True
    try:
        return _call_once(args)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        connection.close()
        return _call_once(args)


_NEVER_AUTOMATICALLY = 2**31 - 1  # psycopg's prepare_threshold: only explicit prepare=True


_ARRAY_SAFE = re.compile(r"[A-Za-z0-9]+")


def _text_array(tokens: tuple[str, ...]) -> str:
    """A text[] literal of tokens made of letters and digits (nothing to quote). Sent as one
    string: psycopg's list adaptation inspects every element on every call."""
    for token in tokens:
        if not _ARRAY_SAFE.fullmatch(token):
            raise ValueError("array tokens must be letters and digits")
    return "{" + ",".join(tokens) + "}"


def _cursor() -> psycopg.Cursor:
    """A psycopg cursor on Django's connection, made once per connection: Django's own cursor
    wrapper (and the psycopg cursor it would make besides) costs more than the call's work on
    the client. What Django's `cursor()` does first is done here too: the health check (unless
    the caller skipped it), opening the connection, and the thread check."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each attribute of the proxy looks it up again
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    db.validate_no_broken_transaction()
    raw = db.connection
    kept = getattr(db, "_fast_submit_cursor", None)
    if kept is not None and kept.connection is raw and not kept.closed:
        return kept
    if raw.prepare_threshold is None:
        # Django turns psycopg's statement preparation off for the whole connection. Its own
        # cursors bind on the client and never prepare; allow it again for the calls that ask
        # (`prepare=True`) and for no other: nothing else reaches the threshold.
        raw.prepare_threshold = _NEVER_AUTOMATICALLY
    db._fast_submit_cursor = cursor = psycopg.Cursor(raw)
    return cursor


def _call_once(args: list[Any]) -> tuple:
    """Run the function with server-side binding and a prepared statement: the ~10 KB of
    arguments travel as parameters (no quoting into the SQL text on our side, no parsing on the
    server's), and the plan is made once per connection. Errors are mapped as Django's cursor
    maps them, and the query is logged when queries are being logged (tests, DEBUG)."""
    if len(args) != len(_PARAMETER_TYPES):
        raise ValueError("feedback_submit_public: wrong number of arguments")
    start = time.monotonic()
    with connection.wrap_database_errors:
        cursor = _cursor()
        cursor.execute(_CALL, args, prepare=True)
        row = cursor.fetchone()
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": _CALL, "time": f"{time.monotonic() - start:.3f}", "alias": connection.alias}
        )
    return row


def receipt_body(
    *,
    number: str,
    created_at: str,
    follow_token: str,
    api_path: tuple[str, str],
    html_path: tuple[str, str],
) -> dict[str, str]:
    """The 201 body of a new submission (the API's FeedbackCreated), from its item URLs split
    around the tracking number."""
    return {
        "tracking_number": number,
        "url": api_path[0] + number + api_path[1],
        "html_url": html_path[0] + number + html_path[1],
        "follow_token": follow_token,
        "state": "received",
        "created_at": created_at,
    }


def cache_clear() -> None:
    with _lock:
        _targets.clear()
        _versions.clear()
        _templates.clear()


def eligible(submission: Submission, *, user) -> bool:
    s = submission
    return (
        not getattr(user, "is_authenticated", False)
        and s.visibility == "public"
        and not s.submitter_email
        and not s.example_slug
        and s.kind in _KINDS
        and s.version.state == Version.State.PUBLISHED
    )


def submit(
    *,
    submission: Submission,
    scope: str,
    key: str | None,
    request_fingerprint: str,
    api_path: tuple[str, str],
    html_path: tuple[str, str],
) -> Created | Replayed | None:
    """File `submission` in one database call. `api_path` and `html_path` are the absolute
    item URLs split around the tracking number. Returns Created, Replayed (the key was used
    before, for this same request), or None: take the full path. Raises KeyReused."""
    s = submission
    target = _target(s.version, s.clause_id)
    if target is None:
        return None
    passage = None
    if s.quote and s.quote.exact.strip():
        passage = anchoring.passage_locate(
            target.plain_text,
            exact=s.quote.exact,
            prefix=s.quote.prefix,
            suffix=s.quote.suffix,
            start=s.quote.start,
        )
        if passage is None:
            return None  # the full path explains the mismatch

    summary = s.summary.strip()
    event = _event_template(s.version, target, s.kind, passage is not None).prepare(summary=summary)
    token = secrets.token_urlsafe(32)
    response_tokens = (secrets.token_hex(12) + "t", secrets.token_hex(12) + "c")
    hashed_key = None
    stored = ""
    if key is not None:
        hashed_key = idempotency.key_hash(key)
        # Stored with tokens where the number and the time go; the database fills them in.
        body = receipt_body(
            number=response_tokens[0],
            created_at=response_tokens[1],
            follow_token=token,
            api_path=api_path,
            html_path=html_path,
        )
        stored = json.dumps(
            idempotency.stored_response(scope, key, body, ("follow_token",)), ensure_ascii=False
        )
    args = [
        scope,
        hashed_key,
        request_fingerprint,
        int(idempotency.TTL.total_seconds()),
        s.version.pk,
        target.clause_text_id,
        target.clause_id,
        passage.exact if passage else "",
        passage.prefix if passage else "",
        passage.suffix if passage else "",
        passage.start if passage else None,
        passage.end if passage else None,
        s.kind,
        s.severity,
        summary,
        s.body.strip(),
        s.suggested_text.strip(),
        json.dumps(s.example_conversation, ensure_ascii=False) if s.example_conversation else "[]",
        s.affiliation.strip(),
        s.conflict_of_interest.strip(),
        s.submitter_name.strip(),
        token_hash(token),
        event.canonical,
        event.subjects,
        event.data,
        _text_array(event.chain_tokens),
        _text_array(event.slot_tokens),
        event.action,
        stored,
        _text_array(response_tokens),
    ]
    outcome, number, created, _seq, status, response, request_hash = _call(
        args, retry_safe=key is not None
    )
    if outcome == "replay":
        if isinstance(response, str):  # Django leaves jsonb undecoded on raw cursors
            response = json.loads(response)
        replay = idempotency.replay_of(
            scope=scope,
            key=key,
            request_fingerprint=request_fingerprint,
            stored_fingerprint=request_hash,
            status=status,
            response=response,
        )
        return Replayed(replay.status, replay.body)
    if outcome != "created":
        return None
    pagecache.bump()  # autocommit: the statement has committed, so this runs now
    return Created(number, created, token)
