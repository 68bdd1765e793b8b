"""Idempotency keys for POSTs (RELIABILITY.md, "Losing or doubling writes").

A client that sends `Idempotency-Key: <key>` may retry the same request safely: the first
request that succeeds stores its response in an `IdempotencyRecord`, in the same transaction
as the item it created; retries with the same key and the same body get that response again
and create nothing. The same key with a different body is refused (`KeyReused`).

Concurrency: the record is claimed under a transaction-level advisory lock on (scope, key).
Concurrent requests with one key queue on that lock; the first does the work and commits, and
the others then find its record and replay it. The unique constraint on (scope, key) is the
backstop. Failed requests store nothing (their transaction rolls back), so a retry runs again.

Privacy: keys are stored as SHA-256 hashes, and any secret in the stored response (the private
follow token) is sealed with a key derived from SECRET_KEY and the raw Idempotency-Key, which
only the client holds. A copy of the database alone reveals neither.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,200}")
# A record replays for this long; after that the key may be used again.
TTL = timedelta(hours=24)
# Two-int advisory lock keys live apart from the ledger's one-bigint key.
LOCK_NAMESPACE = 0x49444D50  # "IDMP"


class InvalidKey(ValueError):
    """The header is empty, too long, or not printable ASCII."""


class KeyReused(Exception):
    """The key was already used, within the same scope, for a different request."""


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass
class Claim:
    """The right to execute a request once: `replay` is set when it already ran."""

    scope: str
    key: str
    fingerprint: str
    replay: Replay | None = None
    _key_hash: str = field(default="", repr=False)

    def store(self, *, status: int, body: dict[str, Any], secrets: tuple[str, ...] = ()) -> None:
        """Keep the response for retries. Call inside the `idempotent` block, after the work,
        so the record commits (or rolls back) with it. `secrets` name top-level fields of
        `body` to seal."""
        IdempotencyRecord.objects.create(
            scope=self.scope,
            key=self._key_hash,
            request_hash=self.fingerprint,
            status_code=status,
            response=stored_response(self.scope, self.key, body, secrets),
        )


def stored_response(
    scope: str, key: str, body: dict[str, Any], secrets: tuple[str, ...] = ()
) -> dict[str, Any]:
    """What a record keeps of a response: the body, with the fields named in `secrets` sealed."""
    stored = dict(body)
    for name in secrets:
        if stored.get(name) is not None:
            stored[name] = seal(scope, key, str(stored[name]))
    return {"body": stored, "sealed": list(secrets)}


def replay_of(
    *,
    scope: str,
    key: str,
    request_fingerprint: str,
    stored_fingerprint: str,
    status: int,
    response,
) -> Replay:
    """The replay of a stored response; KeyReused when it answered a different request."""
    if not hmac.compare_digest(stored_fingerprint, request_fingerprint):
        raise KeyReused(
            f"This {HEADER} was already used for a different request. "
            "Use a new key for a new request."
        )
    return Replay(status=status, body=unsealed_body(response, scope, key))


def key_validate(value: str | None) -> str | None:
    """The header's key, None when absent; InvalidKey when it is not 1-200 printable ASCII."""
    if value is None:
        return None
    if not KEY_PATTERN.fullmatch(value):
        raise InvalidKey(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "(a UUID is a good choice)."
        )
    return value


def fingerprint(*, method: str, path: str, content_type: str, body: bytes) -> str:
    """What makes two requests "the same": method, path, content type and the exact body."""
    digest = hashlib.sha256()
    for part in (method.upper(), path, content_type):
        digest.update(part.encode("utf-8", "backslashreplace") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def key_hash(key: str) -> str:
    """How a key is stored (and locked on): its SHA-256."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()


@contextmanager
def idempotent(*, scope: str, key: str, request_fingerprint: str) -> Iterator[Claim]:
    """Run the block at most once per (scope, key), inside one transaction.

    Yields a Claim. If `claim.replay` is set, answer with it and do nothing else. Otherwise do
    the work and call `claim.store(...)`; an exception rolls everything back. Raises KeyReused
    when the key was used for a different request."""
    hashed = key_hash(key)
    with transaction.atomic():
        with transaction.get_connection().cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                [LOCK_NAMESPACE, f"{scope}|{hashed}"],
            )
        record = IdempotencyRecord.objects.filter(scope=scope, key=hashed).first()
        if record is not None and record.created_at < timezone.now() - TTL:
            record.delete()
            record = None
        claim = Claim(scope=scope, key=key, fingerprint=request_fingerprint, _key_hash=hashed)
        if record is not None:
            claim.replay = replay_of(
                scope=scope,
                key=key,
                request_fingerprint=request_fingerprint,
                stored_fingerprint=record.request_hash,
                status=record.status_code,
                response=record.response,
            )
        try:
            yield claim
        except IntegrityError as exc:
            # Only reachable if two writers got past the lock (it is keyed by a 32-bit hash,
            # so that cannot happen; the constraint is the backstop).
            if "idempotency_key_unique" in str(exc):
                raise KeyReused(f"This {HEADER} is being used by another request.") from exc
            raise


def idempotency_purge(*, older_than: timedelta = TTL) -> int:
    """Delete records past their replay window; returns how many. Run it daily."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


# --- Sealing secrets in stored responses -----------------------------------------------------


def _keystream(scope: str, key: str, length: int) -> bytes:
    secret = settings.SECRET_KEY.encode()
    blocks, counter = [], 0
    while sum(len(b) for b in blocks) < length:
        message = f"feedback.idempotency.seal\0{scope}\0{key}\0{counter}".encode()
        blocks.append(hmac.digest(secret, message, "sha256"))
        counter += 1
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    """`data` XOR `stream` (of the same length), a whole integer at a time."""
    if len(data) != len(stream):
        raise ValueError("the keystream must be as long as the data")
    return (int.from_bytes(data) ^ int.from_bytes(stream)).to_bytes(len(data))


def _tag(scope: str, key: str, ciphertext: bytes) -> bytes:
    message = f"feedback.idempotency.tag\0{scope}\0{key}\0".encode() + ciphertext
    return hmac.digest(settings.SECRET_KEY.encode(), message, "sha256")[:16]


def seal(scope: str, key: str, plaintext: str) -> str:
    """`plaintext` sealed for storage in a response record (see the module docstring)."""
    data = plaintext.encode("utf-8")
    ciphertext = _xor(data, _keystream(scope, key, len(data)))
    return base64.urlsafe_b64encode(_tag(scope, key, ciphertext) + ciphertext).decode("ascii")


def _unseal(scope: str, key: str, sealed: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    tag, ciphertext = raw[:16], raw[16:]
    if not hmac.compare_digest(tag, _tag(scope, key, ciphertext)):
        return None  # SECRET_KEY changed since: the secret cannot be recovered
    return _xor(ciphertext, _keystream(scope, key, len(ciphertext))).decode("utf-8")


def unsealed_body(stored: dict[str, Any] | None, scope: str, key: str) -> dict[str, Any]:
    """The response body of a stored record, its sealed secrets opened with the client's key."""
    stored = stored or {}
    body = dict(stored.get("body") or {})
    for name in stored.get("sealed") or ():
        if isinstance(body.get(name), str):
            body[name] = _unseal(scope, key, body[name])
    return body
