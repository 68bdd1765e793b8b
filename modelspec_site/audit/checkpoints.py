"""Daily signed checkpoints of the ledger: its length and head hash at one time.

A checkpoint is what outsiders keep. Later, anyone can check that event `count` still has hash
`head_hash` (history only grew): against the live database with `verify_audit --checkpoint HASH
--count N`, or offline against an export with the standalone verifier. Each checkpoint is
signed with the site's Ed25519 key (`AUDIT_CHECKPOINT_SIGNING_KEY`), whose public half is
published at /audit/checkpoints/key/, and copied to `AUDIT_CHECKPOINT_DIR` when that is set,
outside the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import tempfile
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from modelspec_site.audit import chain
from modelspec_site.audit.models import Checkpoint, Event

logger = logging.getLogger(__name__)


def _decode_private_key(text: str, where: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{where} must be base64 of a 32-byte Ed25519 private key"
        ) from exc


def _generated_key(path: Path) -> Ed25519PrivateKey:
    """The key kept in `path`, created (mode 0600) the first time. For development and tests."""
    try:
        return _decode_private_key(path.read_text(), str(path))
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return _decode_private_key(path.read_text(), str(path))
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(raw).decode() + "\n")
    logger.warning("Generated a ledger checkpoint signing key in %s", path)
    return key


@cache
def _signing_key(configured: str, key_file: str) -> Ed25519PrivateKey:
    if configured:
        return _decode_private_key(configured, "AUDIT_CHECKPOINT_SIGNING_KEY")
    return _generated_key(Path(key_file))


def signing_key() -> Ed25519PrivateKey:
    """The checkpoint signing key: from the environment, else generated under var/."""
    return _signing_key(settings.AUDIT_CHECKPOINT_SIGNING_KEY, settings.AUDIT_CHECKPOINT_KEY_FILE)


def public_key_raw() -> bytes:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def public_key_pem() -> str:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def checkpoint_record(*, now: dt.datetime | None = None) -> tuple[Checkpoint, bool]:
    """Record today's checkpoint (UTC day) unless there is one; return it and whether it is new.

    One is recorded every day even when no event was added since the last: a dated, signed
    statement that the ledger still had N events, so a missing day is itself visible. The head
    is the last committed event; an append committing meanwhile belongs to tomorrow's."""
    now = now or timezone.now()
    day = now.astimezone(dt.UTC).date()
    existing = Checkpoint.objects.filter(day=day).first()
    if existing is not None:
        return existing, False
    key = signing_key()
    try:
        with transaction.atomic():
            last = Event.objects.order_by("-seq").values_list("seq", "hash").first()
            count, head = last if last else (0, chain.GENESIS_HASH)
            created = chain.format_timestamp(now)
            message = chain.checkpoint_message(count=count, head_hash=head, created_at=created)
            checkpoint = Checkpoint.objects.create(
                day=day,
                count=count,
                head_hash=head,
                created_at=now,
                signature=base64.b64encode(key.sign(message)).decode(),
                key_id=chain.public_key_id(public_key_raw()),
            )
            transaction.on_commit(lambda: checkpoint_write_copy(checkpoint))
    except IntegrityError:  # a concurrent run recorded today's first
        return Checkpoint.objects.get(day=day), False
    return checkpoint, True


def checkpoint_write_copy(checkpoint: Checkpoint) -> Path | None:
    """Write the checkpoint as JSON into AUDIT_CHECKPOINT_DIR (atomically), if that is set."""
    directory = settings.AUDIT_CHECKPOINT_DIR
    if not directory:
        return None
    target_dir = Path(directory)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"checkpoint-{checkpoint.day.isoformat()}.json"
    body = json.dumps(checkpoint.as_dict() | {"day": checkpoint.day.isoformat()}, indent=2)
    with tempfile.NamedTemporaryFile(
        "w", dir=target_dir, prefix=".checkpoint-", suffix=".tmp", delete=False
    ) as handle:
        handle.write(body + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, target)
    return target
