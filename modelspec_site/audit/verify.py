"""Re-checking the stored ledger against its hash chain (and, optionally, a checkpoint)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modelspec_site.audit import chain, fastchain
from modelspec_site.audit.models import Event
from modelspec_site.audit.selectors import ledger_rows

_COLUMNS = (*chain.HASHED_FIELDS, "hash")


def _stored_events(chunk_size: int) -> Iterator[dict[str, Any]]:
    # A server-side cursor over one snapshot: constant memory, and appends that commit while
    # it runs are simply not part of this check.
    return Event.objects.order_by("seq").values(*_COLUMNS).iterator(chunk_size=chunk_size)


def audit_verify(*, chunk_size: int = 10_000, reference: bool = False) -> chain.VerifyResult:
    """Recompute the whole chain from the database and report the first bad event, if any.

    By default rows are read as text and hashed by `fastchain` (same verdicts, several times
    faster); `reference=True` reads them through the ORM and hashes with `chain` alone."""
    if reference:
        return chain.verify_chain(_stored_events(chunk_size))
    return fastchain.verify_rows(ledger_rows(chunk_size=chunk_size))[0]


def audit_verify_checkpoint(
    *, head_hash: str, count: int | None, chunk_size: int = 10_000
) -> chain.VerifyResult:
    """Check the whole chain and that event `count` still has the checkpoint's hash (history
    only grew since); without `count`, that the head is `head_hash`."""
    result, at_count = fastchain.verify_rows(ledger_rows(chunk_size=chunk_size), watch=count)
    return chain.checkpoint_verdict(
        result, head_hash=head_hash, count=count, hash_at_count=at_count
    )
