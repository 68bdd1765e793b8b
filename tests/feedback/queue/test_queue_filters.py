"""The queue's parameters, filters, sorts and pages (feedback.queue), against real PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback import queue
from feedback.models import FeedbackItem, State
from feedback.workflow import ACTIVE_STATES
from revisions.models import Version

# --- Parsing (no database) ---------------------------------------------------------------------


def test_defaults_are_the_active_states_oldest_waiting_first():
    params, errors = queue.queue_parse(QueryDict(""))
    assert errors == {}
    assert set(params["state"]) == set(ACTIVE_STATES)
    assert params["sort"] == "waiting"
    assert set(queue.QUEUE_FILTERS) <= set(params)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=nonsense", "state"),
        ("kind=poem", "kind"),
        ("sort=random", "sort"),
        ("visibility=secret", "visibility"),
        ("has_passage=maybe", "has_passage"),
        ("endorsements=-1", "endorsements"),
        ("endorsements=lots", "endorsements"),
        ("age=1e9", "age"),
        ("rank=9999999", "rank"),
        ("assignee=a%20b", "assignee"),
        ("clause=%3Cscript%3E", "clause"),
        ("spec=two&spec=specs", "spec"),
        ("version=" + "x" * 100, "version"),
        ("label=" + "y" * 60, "label"),
        ("age=%00", "age"),
    ],
)
def test_values_outside_the_allowlists_are_errors_by_field(query, field):
    params, errors = queue.queue_parse(QueryDict(query))
    assert errors.get(field)
    # The other parameters keep their defaults: one bad value spoils nothing else.
    defaults = queue.default_params()
    assert {k: v for k, v in params.items() if k != field} == {
        k: v for k, v in defaults.items() if k != field
    }


def test_lists_groups_and_round_trip():
    params, errors = queue.queue_parse(
        QueryDict(
            "state=received,triaged&state=spam&kind=editorial&label=a,b&has_passage=no"
            "&endorsements=3&age=7&assignee=me&rank=0&sort=severity"
        )
    )
    assert errors == {}
    assert params["state"] == ("received", "spam", "triaged")
    assert params["label"] == ("a", "b")
    assert params["has_passage"] is False
    assert (params["endorsements"], params["age"], params["rank"]) == (3, 7, 0)
    again, errors = queue.queue_parse(QueryDict(queue.queue_query(params)))
    assert errors == {} and again == params
    everything, _ = queue.queue_parse(QueryDict("state=all"))
    assert everything["state"] is None
    closed, _ = queue.queue_parse(QueryDict("state=closed"))
    assert "spam" in closed["state"] and "received" not in closed["state"]
    assert queue.queue_query(queue.default_params()) == ""


# --- Filters -----------------------------------------------------------------------------------


def numbers(viewer, query: str = "") -> list[str]:
    params, errors = queue.queue_parse(QueryDict(query))
    assert errors == {}, errors
    return [i.tracking_number for i in queue.queue_queryset(viewer=viewer, params=params)]


@pytest.mark.django_db
def test_each_filter_selects_exactly_its_items(make_item, staff, version):
    me, other = staff("triager", username="me"), staff("reviewer", username="other")
    older = version.parent or version
    plain = make_item(filed=1)
    closed = make_item(state=State.SPAM, filed=1, changed=1)
    editorial = make_item(kind="editorial", filed=1)
    root = make_item(rank=0, filed=1)
    mine = make_item(assignee=me, filed=1)
    theirs = make_item(assignee=other, filed=1)
    labelled = make_item(labels=["urgent", "policy"], filed=1)
    half = make_item(labels=["urgent"], filed=1)
    internal = make_item(visibility="internal", filed=1)
    passage = make_item(quote_exact="some words", position_start=0, position_end=10, filed=1)
    popular = make_item(endorsement_count=5, filed=1)
    old = make_item(filed=30)
    moved_recently = make_item(state=State.TRIAGED, filed=30, changed=2)
    moved_long_ago = make_item(state=State.TRIAGED, filed=40, changed=20)
    active = {i.tracking_number for i in (plain, editorial, root, mine, theirs, labelled, half,
              internal, passage, popular, old, moved_recently, moved_long_ago)}  # fmt: skip

    def n(*items):
        return {i.tracking_number for i in items}

    assert set(numbers(me)) == active
    assert set(numbers(me, "state=all")) == active | n(closed)
    assert set(numbers(me, "state=spam")) == n(closed)
    assert set(numbers(me, "state=triaged")) == n(moved_recently, moved_long_ago)
    assert set(numbers(me, "kind=editorial")) == n(editorial)
    assert set(numbers(me, "rank=0")) == n(root)
    assert set(numbers(me, f"authority={root.clause_text.authority}")) == n(root)
    assert set(numbers(me, "assignee=me")) == n(mine)
    assert set(numbers(other, "assignee=me")) == n(theirs)
    assert set(numbers(me, "assignee=other")) == n(theirs)
    assert set(numbers(me, "assignee=none")) == active - n(mine, theirs)
    assert set(numbers(me, "label=urgent")) == n(labelled, half)
    assert set(numbers(me, "label=urgent,policy")) == n(labelled)
    assert set(numbers(me, "label=nope")) == set()
    assert set(numbers(me, "visibility=internal")) == n(internal)
    assert set(numbers(me, "visibility=public")) == active - n(internal)
    assert set(numbers(me, "has_passage=yes")) == n(passage)
    assert set(numbers(me, "has_passage=no")) == active - n(passage)
    assert set(numbers(me, "endorsements=5")) == n(popular)
    assert set(numbers(me, "endorsements=0")) == active
    # Age counts from the last state change, or from filing when the state never changed.
    assert set(numbers(me, "age=10")) == n(old, moved_long_ago)
    assert set(numbers(me, "age=25")) == n(old)
    assert set(numbers(me, f"spec={version.spec.slug}&version={version.label}")) == active
    assert set(numbers(me, f"version={older.label}")) == (set() if older != version else active)
    assert set(numbers(me, f"clause={root.clause_text.anchor}")) == n(root)
    assert set(numbers(me, "spec=no-such-spec")) == set()
    # Filters combine.
    assert set(numbers(me, "label=urgent&age=0&assignee=none&visibility=public")) == n(
        labelled, half
    )


@pytest.mark.django_db
def test_only_staff_have_a_queue(make_item, make_user):
    make_item()
    params, _ = queue.queue_parse(QueryDict(""))
    assert list(queue.queue_queryset(viewer=AnonymousUser(), params=params)) == []
    assert list(queue.queue_queryset(viewer=make_user("public"), params=params)) == []


# --- Sorting and pages -------------------------------------------------------------------------


@pytest.mark.django_db
def test_sorts(make_item, staff):
    me = staff("triager")
    a = make_item(filed=10, severity="low", endorsement_count=1)
    b = make_item(filed=20, changed=1, state=State.TRIAGED, severity="critical")
    c = make_item(filed=5, severity="high", endorsement_count=7)
    d = make_item(filed=5, severity="high", endorsement_count=7)  # ties with c but for number
    assert numbers(me) == [a.tracking_number, c.tracking_number, d.tracking_number,
                           b.tracking_number]  # fmt: skip
    assert numbers(me, "sort=newest") == [d.tracking_number, c.tracking_number,
                                          a.tracking_number, b.tracking_number]  # fmt: skip
    assert numbers(me, "sort=endorsed") == [c.tracking_number, d.tracking_number,
                                            a.tracking_number, b.tracking_number]  # fmt: skip
    assert numbers(me, "sort=severity") == [b.tracking_number, c.tracking_number,
                                            d.tracking_number, a.tracking_number]  # fmt: skip


def walk(viewer, params, *, page_size, backwards_check=True):
    """Every page forwards, then back again from the last; the numbers in order."""
    pages, cursor = [], None
    for _ in range(100):
        page = queue.queue_page(viewer=viewer, params=params, cursor=cursor, page_size=page_size)
        pages.append(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    forward = [i.tracking_number for p in pages for i in p.items]
    if backwards_check and len(pages) > 1:
        back, cursor = [], pages[-1].previous_cursor
        while cursor:
            page = queue.queue_page(viewer=viewer, params=params, cursor=cursor,
                                    page_size=page_size)  # fmt: skip
            back = [i.tracking_number for i in page.items] + back
            cursor = page.previous_cursor
        assert back + [i.tracking_number for i in pages[-1].items] == forward
    return forward


@pytest.mark.django_db
@pytest.mark.parametrize("sort", sorted(queue.SORTS))
def test_cursor_pages_cover_every_item_once_in_order(make_item, staff, sort):
    me = staff("triager")
    # Many ties: same ages, same counts, same severity in groups.
    for i in range(17):
        make_item(filed=i % 3, endorsement_count=i % 2, severity=["low", "high"][i % 2])
    params, _ = queue.queue_parse(QueryDict(f"sort={sort}"))
    everything = numbers(me, f"sort={sort}")
    assert len(everything) == 17
    for size in (1, 4, 17, 50):
        assert walk(me, params, page_size=size) == everything


@pytest.mark.django_db
def test_a_cursor_is_stable_when_items_arrive_or_move(make_item, staff):
    me = staff("triager")
    items = [make_item(filed=30 - i) for i in range(6)]
    params, _ = queue.queue_parse(QueryDict(""))
    first = queue.queue_page(viewer=me, params=params, page_size=3)
    assert [i.tracking_number for i in first.items] == [i.tracking_number for i in items[:3]]
    make_item(filed=0)  # new work arrives at the end; something old arrives before the cursor
    make_item(filed=100)
    second = queue.queue_page(viewer=me, params=params, cursor=first.next_cursor, page_size=3)
    assert [i.tracking_number for i in second.items] == [i.tracking_number for i in items[3:6]]
    # A cursor made for one sort is not applied to another; a forged one starts again.
    other, _ = queue.queue_parse(QueryDict("sort=newest"))
    assert queue.queue_page(viewer=me, params=other, cursor=first.next_cursor).cursor_invalid
    forged = queue.queue_page(viewer=me, params=params, cursor=first.next_cursor[:-2] + "xx")
    assert forged.cursor_invalid and forged.items[0].tracking_number != items[3].tracking_number


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_whatever_its_size(make_item, staff):
    me = staff("triager")
    other = staff("reviewer", username="other")
    for i in range(60):
        make_item(filed=i, labels=["a", "b"] if i % 2 else ["c"], assignee=other if i % 3 else me)
    params, _ = queue.queue_parse(QueryDict("label=a"))
    counts = []
    for size in (1, 10, 30):
        with CaptureQueriesContext(connection) as queries:
            page = queue.queue_page(viewer=me, params=params, page_size=size)
            for item in page.items:  # what a row shows
                _ = (item.assignee.username, [label.name for label in item.labels.all()],
                     item.clause_text.anchor, item.version.label, item.waiting_at)  # fmt: skip
        assert len(page.items) == size
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2] <= 3, counts
    assert FeedbackItem.objects.count() >= 60


@pytest.mark.django_db
@pytest.mark.parametrize("sort", sorted(queue.SORTS))
def test_cursor_pages_through_exact_ties_both_ways(make_item, staff, sort):
    """Exact ties on the waiting time, the endorsement count and the severity (the fixture's
    ages differ by microseconds, these do not): every page starts right after the row before,
    by a row comparison for the same-direction sorts and the lexicographic form otherwise."""
    me = staff("triager")
    made = [make_item(filed=1) for _ in range(13)]
    moment = timezone.now() - dt.timedelta(days=3)
    for n, item in enumerate(made):
        FeedbackItem.objects.filter(pk=item.pk).update(
            created_at=moment - dt.timedelta(hours=n % 3),
            state_changed_at=None,
            endorsement_count=[0, 4, 0, 1][n % 4],
            severity=["low", "high"][n % 2],
        )
    everything = numbers(me, f"sort={sort}")
    assert sorted(everything) == sorted(i.tracking_number for i in made)
    params, _ = queue.queue_parse(QueryDict(f"sort={sort}"))
    for size in (1, 2, 5, 13):
        assert walk(me, params, page_size=size) == everything


@pytest.mark.django_db
def test_clause_filter_keeps_to_the_chosen_spec_and_version(make_item, staff, version):
    me = staff("triager")
    item = make_item(filed=1)
    anchor = item.clause_text.anchor
    other = Version.objects.filter(spec=version.spec).exclude(pk=version.pk).first()
    assert set(numbers(me, f"clause={anchor}")) == {item.tracking_number}
    assert numbers(me, f"clause={anchor}&version={version.label}") == [item.tracking_number]
    assert numbers(me, f"clause={anchor}&spec={version.spec.slug}") == [item.tracking_number]
    if other is not None:
        assert numbers(me, f"clause={anchor}&version={other.label}") == []
    assert numbers(me, f"clause={anchor}&spec=no-such-spec") == []
    assert numbers(me, "clause=no_such_clause") == []


@pytest.mark.django_db
def test_reanchoring_outcome_filter(make_item, staff):
    staff = staff("triager")
    orphan, anchored, never = make_item(), make_item(), make_item()
    FeedbackItem.objects.filter(pk=orphan.pk).update(anchor_outcome="orphaned", anchor_confidence=0)
    FeedbackItem.objects.filter(pk=anchored.pk).update(
        anchor_outcome="anchored", anchor_confidence=100
    )
    assert numbers(staff, "reanchor=orphaned&state=all") == [orphan.tracking_number]
    assert numbers(staff, "reanchor=anchored&state=all") == [anchored.tracking_number]
    assert set(numbers(staff, "reanchor=none&state=all")) >= {never.tracking_number}
    assert orphan.tracking_number not in numbers(staff, "reanchor=none&state=all")
    _params, errors = queue.queue_parse(QueryDict("reanchor=lost"))
    assert "reanchor" in errors
