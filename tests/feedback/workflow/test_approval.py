"""The approval rule by authority: root (rank 0) and system (rank 1) clauses need accepts from two
distinct reviewers in the current review round; other clauses one. Editors change the rule per
spec."""

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback.errors import ApprovalPending, FeedbackError, NotAllowed, TransitionConflict
from feedback.models import Decision, FeedbackItem, ReviewPolicy, State
from feedback.services import Submission, feedback_submit
from feedback.transitions import (
    accepts_required,
    approval_status,
    decision_record,
    feedback_transition,
    review_policy_set,
)
from modelspec_site.audit.models import Event
from tests.conftest import DATA

from .conftest import LABEL, clause_of_rank, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewers(staff):
    return [staff("reviewer", username=f"reviewer-{n}") for n in range(3)]


@pytest.fixture
def in_review(item_in):
    def make(rank):
        return item_in(State.IN_REVIEW, rank=rank)

    return make


def accept(user, item, **extra):
    return feedback_transition(
        acting_user=user, item=item, action="accept", rationale="Accepted.", **extra
    )


def position(user, item, value="accept"):
    return decision_record(acting_user=user, item=item, position=value, rationale="Why.")


@pytest.mark.parametrize(("rank", "needed"), [(0, 2), (1, 2), (2, 1), (3, 1)])
def test_accepts_needed_follow_the_clause_authority(rank, needed, in_review, reviewers):
    item = in_review(rank)
    assert item.clause_text.authority_rank == rank
    assert accepts_required(item) == needed
    for n in range(needed):
        before = snapshot(item)
        with pytest.raises(ApprovalPending) as pending:
            accept(reviewers[0], item)
        assert (pending.value.status, pending.value.code) == (409, "approval_pending")
        assert f"{n} recorded" in pending.value.message
        assert snapshot(item) == before
        position(reviewers[n], item)
    accept(reviewers[0], item)
    assert FeedbackItem.objects.get(pk=item.pk).state == State.ACCEPTED


def test_the_same_reviewer_twice_is_one_accept(in_review, reviewers):
    item = in_review(0)
    position(reviewers[0], item)
    position(reviewers[0], item)
    assert Decision.objects.filter(item=item).count() == 1
    assert approval_status(item).accepting == (reviewers[0].username,)
    with pytest.raises(ApprovalPending):
        accept(reviewers[0], item)
    assert FeedbackItem.objects.get(pk=item.pk).state == State.IN_REVIEW


def test_a_recusal_or_another_position_is_not_an_accept(in_review, reviewers):
    item = in_review(1)
    position(reviewers[0], item)
    decision_record(acting_user=reviewers[1], item=item, position="recuse")
    position(reviewers[2], item, "decline")
    status = approval_status(item)
    assert (status.accepting, status.recused, status.met) == (
        (reviewers[0].username,),
        (reviewers[1].username,),
        False,
    )
    with pytest.raises(ApprovalPending):
        accept(reviewers[0], item)
    # A reviewer who changes their mind to accept now counts.
    position(reviewers[2], item, "accept")
    accept(reviewers[0], item)
    assert FeedbackItem.objects.get(pk=item.pk).state == State.ACCEPTED


def test_an_accept_withdrawn_no_longer_counts(in_review, reviewers):
    item = in_review(3)
    position(reviewers[0], item)
    position(reviewers[0], item, "defer")
    with pytest.raises(ApprovalPending):
        accept(reviewers[0], item)


def test_accepts_from_before_a_reopening_do_not_count(in_review, reviewers, staff):
    item = in_review(0)
    position(reviewers[0], item)
    position(reviewers[1], item)
    assert approval_status(item).met
    feedback_transition(
        acting_user=reviewers[0], item=item, action="decline", rationale="Out of scope."
    )
    feedback_transition(
        acting_user=reviewers[1], item=item, action="reopen", rationale="New evidence."
    )
    feedback_transition(acting_user=staff("triager"), item=item, action="start_review")
    item.refresh_from_db()
    assert item.review_round == 2
    status = approval_status(item)
    assert (status.accepting, status.met) == ((), False)
    with pytest.raises(ApprovalPending):
        accept(reviewers[0], item)
    position(reviewers[0], item)
    with pytest.raises(ApprovalPending):
        accept(reviewers[0], item)
    position(reviewers[1], item)
    accept(reviewers[0], item, expected_state=State.IN_REVIEW)
    assert FeedbackItem.objects.get(pk=item.pk).state == State.ACCEPTED
    rounds = sorted(Decision.objects.filter(item=item).values_list("review_round", flat=True))
    assert rounds == [1, 1, 2, 2]


def test_only_reviewers_and_editors_record_positions_and_only_in_review(item_in, staff):
    item = item_in(State.IN_REVIEW)
    for role in ("triager", "moderator", "auditor"):
        with pytest.raises(NotAllowed):
            decision_record(acting_user=staff(role), item=item, position="accept", rationale="x")
    with pytest.raises(NotAllowed):
        decision_record(acting_user=AnonymousUser(), item=item, position="accept", rationale="x")
    editor = staff("editor")
    with pytest.raises(FeedbackError, match="reason"):
        decision_record(acting_user=editor, item=item, position="accept", rationale="  ")
    with pytest.raises(FeedbackError):
        decision_record(acting_user=editor, item=item, position="approve", rationale="x")
    assert not Decision.objects.filter(item=item).exists()
    events = Event.objects.count()
    decision_record(acting_user=editor, item=item, position="accept", rationale="Fine.")
    recorded = Event.objects.get(seq__gt=Event.objects.order_by("seq")[events - 1].seq)
    assert (recorded.action, recorded.visibility) == ("feedback.position_recorded", "internal")

    triaged = item_in(State.TRIAGED, user=staff("triager", username="t2"))
    with pytest.raises(TransitionConflict):
        decision_record(acting_user=editor, item=triaged, position="accept", rationale="x")


# --- The rule per spec -----------------------------------------------------------------------


@pytest.fixture
def other_spec_item(db, make_user):
    """An item on a second spec (the same text, imported under another slug)."""
    from revisions.services import spec_ensure, version_import

    spec = spec_ensure(slug="other-spec", title="Another spec")
    version = version_import(
        spec=spec, label=LABEL, data=(DATA / f"{LABEL}.md").read_bytes(), publish=True
    )
    if not hasattr(version, "pk"):
        version = spec.versions.get(label=LABEL)

    def make(state, rank):
        submission = Submission(
            version=version,
            clause_id=clause_of_rank(version, rank),
            kind="unclear",
            summary="On the other spec",
        )
        item = feedback_submit(acting_user=AnonymousUser(), submission=submission).item
        FeedbackItem.objects.filter(pk=item.pk).update(state=state)
        item.refresh_from_db()
        return item

    return make


def test_editors_change_the_rule_for_one_spec(in_review, reviewers, staff, other_spec_item):
    editor = staff("editor")
    root_here, root_there = in_review(0), other_spec_item(State.IN_REVIEW, 0)
    guideline_here = in_review(3)
    events = Event.objects.count()
    review_policy_set(
        acting_user=editor, spec=root_here.spec, accepts_by_rank={"0": 1}, default_accepts=2
    )
    changed = Event.objects.order_by("-seq").first()
    assert Event.objects.count() == events + 1
    assert changed.action == "review_policy.changed"
    assert changed.data["after"] == {"accepts_by_rank": {"0": 1}, "default": 2}

    # Root now needs one; the other ranks the default (two); the other spec keeps the built-in.
    assert (accepts_required(root_here), accepts_required(guideline_here)) == (1, 2)
    assert accepts_required(in_review(1)) == 2
    assert accepts_required(root_there) == 2
    assert accepts_required(other_spec_item(State.IN_REVIEW, 3)) == 1

    position(reviewers[0], root_here)
    accept(reviewers[0], root_here)
    position(reviewers[0], guideline_here)
    with pytest.raises(ApprovalPending):
        accept(reviewers[0], guideline_here)
    position(reviewers[0], root_there)
    with pytest.raises(ApprovalPending):
        accept(reviewers[0], root_there)


@pytest.mark.parametrize("role", ["reviewer", "triager", "moderator", "auditor"])
def test_only_editors_change_the_rule(role, staff, version):
    events = Event.objects.count()
    with pytest.raises(NotAllowed):
        review_policy_set(
            acting_user=staff(role), spec=version.spec, accepts_by_rank={"0": 1}, default_accepts=1
        )
    assert not ReviewPolicy.objects.exists()
    assert Event.objects.count() == events


@pytest.mark.parametrize(
    ("by_rank", "default"),
    [({"0": 0}, 1), ({"0": 11}, 1), ({"root": 1}, 1), ({"0": "two"}, 1), ({}, 0), ({-1: 1}, 1)],
)
def test_the_rule_must_be_sensible(by_rank, default, staff, version):
    with pytest.raises(FeedbackError):
        review_policy_set(
            acting_user=staff("editor"),
            spec=version.spec,
            accepts_by_rank=by_rank,
            default_accepts=default,
        )
    assert not ReviewPolicy.objects.exists()
