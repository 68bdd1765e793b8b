"""Re-checking the stored ledger against its hash chain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modelspec_site.audit import chain
from modelspec_site.audit.models import Event

_COLUMNS = (*chain.HASHED_FIELDS, "hash")


def _stored_events(chunk_size: int) -> Iterator[dict[str, Any]]:
    # A server-side cursor over one snapshot: constant memory, and appends that commit while
    # it runs are simply not part of this check.
    return Event.objects.order_by("seq").values(*_COLUMNS).iterator(chunk_size=chunk_size)


def audit_verify(*, chunk_size: int = 5000) -> chain.VerifyResult:
    """Recompute the whole chain from the database and report the first bad event, if any."""
    return chain.verify_chain(_stored_events(chunk_size))
