"""bench/triage_queue.py's seeder, on a few hundred rows: the spread it promises, and rows the site
accepts as its own (well-formed unique tracking numbers, targets that exist, valid passages)."""

import re
from collections import Counter

import pytest
from django.db.models import Count

from bench.triage_queue import INTERNAL_SHARE, KINDS, LABELS, SEVERITIES, STAFF, STATES, seed_items
from feedback.models import FeedbackItem, State, TrackingCounter
from feedback.urls import TrackingNumberConverter

ROWS = 600
pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    info = seed_items(ROWS, batch=250)  # three batches: numbering must continue across them
    return info, list(FeedbackItem.objects.select_related("clause_text", "version"))


def test_rows_are_well_formed(seeded):
    info, items = seeded
    assert len(items) == ROWS == info.rows
    pattern = re.compile(TrackingNumberConverter.regex)
    numbers = [item.tracking_number for item in items]
    assert len(set(numbers)) == ROWS
    assert all(pattern.fullmatch(number) for number in numbers)
    for item in items:
        prefix, year, _serial = item.tracking_number.split("-")
        assert prefix == ("MSI" if item.visibility == "internal" else "MS")
        assert int(year) == item.created_at.year
        assert item.clause_text.version_id == item.version_id
        assert item.clause_text.clause_id == item.clause_id
        assert item.spec_id == item.version.spec_id
        assert item.follow_token_hash and len(item.follow_token_hash) == 64
        if item.position_start is not None:
            text = item.clause_text.plain_text
            assert 0 <= item.position_start < item.position_end <= len(text)
            assert text[item.position_start : item.position_end] == item.quote_exact
        else:
            assert item.quote_exact == ""
        if item.state == State.DUPLICATE and item.duplicate_of_id:
            assert item.duplicate_of_id < item.id
        if item.state_changed_at is not None:
            assert item.state_changed_at >= item.created_at
        assert item.search  # the generated full-text column was computed
    # The counters continue past every number issued, so a real submission cannot collide.
    for counter in TrackingCounter.objects.all():
        issued = [
            int(n.rsplit("-", 1)[1])
            for n in numbers
            if n.startswith(f"{counter.prefix}-{counter.year}-")
        ]
        assert counter.last == max(issued)
    # Numbers follow creation time within each series, as the counter hands them out.
    by_series: dict[str, list] = {}
    for item in sorted(items, key=lambda i: i.created_at):
        prefix, year, serial = item.tracking_number.split("-")
        by_series.setdefault(f"{prefix}-{year}", []).append(int(serial))
    for serials in by_series.values():
        assert serials == list(range(1, len(serials) + 1))


def test_spread(seeded):
    info, items = seeded
    states = Counter(item.state for item in items)
    waiting = states["received"] + states["triaged"] + states["in_review"]
    assert waiting > 0.6 * ROWS  # most are waiting...
    closed = sum(states[s] for s in ("declined", "duplicate", "deferred", "incorporated", "spam"))
    assert 0.05 * ROWS < closed < 0.3 * ROWS  # ...some are closed
    assert len(states) >= 8
    # Each kind and severity near its weight (not only the first ones of the list).
    for weighted, values in (
        (KINDS, Counter(item.kind for item in items)),
        (SEVERITIES, Counter(item.severity for item in items)),
        (STATES, states),
    ):
        total = sum(weight for _, weight in weighted)
        for value, weight in weighted:
            expected = ROWS * weight / total
            assert expected / 3 - 3 <= values[value] <= expected * 2 + 5, (value, values)
    internal = sum(item.visibility == "internal" for item in items)
    assert 0.5 * INTERNAL_SHARE * ROWS < internal < 2 * INTERNAL_SHARE * ROWS
    assert len({item.version_id for item in items}) == 3
    # Skewed clauses: the busiest clause text has many times the median's items.
    per_clause = sorted(Counter(item.clause_text_id for item in items).values(), reverse=True)
    assert per_clause[0] >= 5 * per_clause[len(per_clause) // 2]
    # Two years of ages.
    created = sorted(item.created_at for item in items)
    assert (created[-1] - created[0]).days > 600
    # Endorsements: mostly none, a long tail.
    endorsements = [item.endorsement_count for item in items]
    assert sum(e == 0 for e in endorsements) > 0.4 * ROWS
    assert max(endorsements) >= 20
    assert all(item.endorsement_count == 0 for item in items if item.visibility == "internal")
    passages = sum(item.position_start is not None for item in items)
    assert 0.1 * ROWS < passages < 0.3 * ROWS
    assigned = [item.assignee_id for item in items if item.assignee_id]
    assert 0.2 * ROWS < len(assigned) < 0.7 * ROWS
    assert set(assigned) <= set(info.staff_ids) and len(set(assigned)) >= 4
    assert len(info.staff_ids) == len(STAFF)
    # Received items that never moved keep no state_changed_at, as feedback_submit leaves it.
    received = [item for item in items if item.state == "received"]
    assert sum(item.state_changed_at is None for item in received) > 0.7 * len(received)


def test_labels(seeded):
    info, _items = seeded
    assert len(info.label_ids) == len(LABELS)
    labelled = FeedbackItem.objects.annotate(n=Count("labels")).filter(n__gt=0)
    assert 0.15 * ROWS < labelled.count() < 0.35 * ROWS
    assert labelled.filter(n=2).exists()
    through = FeedbackItem.labels.through.objects
    per_label = Counter(through.values_list("label_id", flat=True))
    assert set(per_label) <= set(info.label_ids)
    assert max(per_label.values()) >= 2 * min(per_label.values())  # some far more used


def test_reproducible_and_additive(seeded):
    """A second call adds rows after the first ones, with fresh numbers."""
    _info, items = seeded
    more = seed_items(50)
    assert FeedbackItem.objects.count() == ROWS + 50
    assert more.first_id == max(item.id for item in items) + 1
    numbers = FeedbackItem.objects.values_list("tracking_number", flat=True)
    assert len(set(numbers)) == ROWS + 50
