"""Fixtures for the triage queue: items made directly in the database (fast, many of them, with
chosen ages, states and counts) and staff clients by role."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from feedback.models import FeedbackItem, Label
from revisions.models import ClauseText, Version

LABEL = "2025-09-12"
_numbers = itertools.count(1)


@pytest.fixture
def version(db) -> Version:
    return Version.objects.select_related("spec").get(spec__slug="model-spec", label=LABEL)


def clause_of_rank(version: Version, rank: int) -> ClauseText:
    return ClauseText.objects.filter(version=version, authority_rank=rank).order_by("position")[0]


@pytest.fixture
def make_item(version):
    """make_item(rank=3, filed=0, changed=None, labels=(), **fields): an item on a clause of
    that authority rank, filed `filed` days ago, whose state changed `changed` days ago (never,
    when None: it has waited since it was filed)."""
    clauses: dict[int, ClauseText] = {}

    def make(*, rank: int = 3, filed: float = 0, changed: float | None = None, labels=(),
             **fields) -> FeedbackItem:  # fmt: skip
        if rank not in clauses:
            clauses[rank] = clause_of_rank(version, rank)
        clause = clauses[rank]
        now = timezone.now()
        number = next(_numbers)
        fields.setdefault("tracking_number", f"MS-2031-{number:05d}")
        fields.setdefault("kind", "unclear")
        fields.setdefault("summary", f"Queue item {number}")
        item = FeedbackItem.objects.create(
            spec=version.spec, version=version, clause=clause.clause, clause_text=clause,
            **fields,
        )  # fmt: skip
        FeedbackItem.objects.filter(pk=item.pk).update(
            created_at=now - dt.timedelta(days=filed),
            state_changed_at=None if changed is None else now - dt.timedelta(days=changed),
        )
        for name in labels:
            item.labels.add(Label.objects.get_or_create(name=name)[0])
        item.refresh_from_db()
        return item

    return make


@pytest.fixture
def staff(make_user):
    def make(*roles, username=None):
        return make_user(username or "-".join(roles) or "plain", roles=roles, is_staff=True)

    return make
