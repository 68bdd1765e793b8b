"""Every (state, action) pair against the workflow, through the real service.

The oracle is written out here from DESIGN.md §3 rather than read from `feedback.workflow`, so
a change to the table that the design does not describe fails twice: once in
`test_the_table_is_the_designed_one`, and once for each pair the service now treats
differently."""

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback import workflow
from feedback.errors import TransitionConflict
from feedback.models import FeedbackItem, Note, State, Transition
from feedback.transitions import feedback_transition
from modelspec_site.audit.models import Event
from modelspec_site.outbox.models import OutboxMessage

from .conftest import approve, snapshot

pytestmark = pytest.mark.django_db

S = State
# (action) -> ({source states}, target)
DESIGNED = {
    "triage": ({S.RECEIVED}, S.TRIAGED),
    "start_review": ({S.TRIAGED}, S.IN_REVIEW),
    "request_info": ({S.RECEIVED, S.TRIAGED}, S.NEEDS_INFO),
    "provide_info": ({S.NEEDS_INFO}, S.RECEIVED),
    "mark_duplicate": ({S.RECEIVED, S.TRIAGED}, S.DUPLICATE),
    "decline": ({S.RECEIVED, S.TRIAGED, S.IN_REVIEW}, S.DECLINED),
    "mark_spam": ({S.RECEIVED, S.TRIAGED, S.NEEDS_INFO}, S.SPAM),
    "defer": ({S.IN_REVIEW}, S.DEFERRED),
    "accept": ({S.IN_REVIEW}, S.ACCEPTED),
    "incorporate": ({S.ACCEPTED}, S.INCORPORATED),
    "reopen": ({S.DUPLICATE, S.DECLINED, S.SPAM, S.DEFERRED, S.WITHDRAWN}, S.TRIAGED),
    "withdraw": ({S.RECEIVED, S.TRIAGED, S.IN_REVIEW, S.NEEDS_INFO}, S.WITHDRAWN),
}
PAIRS = [(state, action) for state in State.values for action in DESIGNED]


def test_the_table_is_the_designed_one():
    assert set(workflow.ACTIONS) == set(DESIGNED)
    for name, (sources, target) in DESIGNED.items():
        action = workflow.ACTIONS[name]
        assert (set(action.sources), action.target) == (sources, target), name
    # Every state is reachable and every non-final state can be left.
    targets = {target for _, target in DESIGNED.values()}
    assert targets | {S.RECEIVED} == set(State.values)
    final = {S.INCORPORATED}
    assert {s for sources, _ in DESIGNED.values() for s in sources} == set(State.values) - final


def _arguments(name, item, file_item, submitter, make_user, staff):
    """An actor who may take `name`, and everything `name` requires."""
    action = workflow.ACTIONS[name]
    kwargs = {"action": name}
    if workflow.SUBMITTER in action.actors:
        kwargs["acting_user"] = submitter
    elif workflow.SYSTEM in action.actors:
        kwargs["acting_user"], kwargs["system"] = AnonymousUser(), True
    else:
        kwargs["acting_user"] = staff(*sorted(action.actors), username="actor")
    if workflow.RATIONALE in action.requires:
        kwargs["rationale"] = f"Because ({name})."
    if workflow.MESSAGE in action.requires:
        kwargs["message"] = f"A message ({name})."
    if workflow.DUPLICATE_OF in action.requires:
        kwargs["duplicate_of"] = file_item(rank=3, summary="The original")
    if workflow.APPROVAL in action.requires:
        approve(item, [staff("reviewer", username=f"r{n}") for n in range(2)])
    return kwargs


@pytest.mark.parametrize(("state", "name"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_every_state_and_action(state, name, item_in, file_item, make_user, staff):
    item = item_in(state, rank=0)  # root: the strictest approval rule
    submitter = item.submitter
    kwargs = _arguments(name, item, file_item, submitter, make_user, staff)
    before = snapshot(item)
    sources, target = DESIGNED[name]

    if state not in sources:
        with pytest.raises(TransitionConflict) as refused:
            feedback_transition(item=item, expected_state=state, **kwargs)
        assert refused.value.status == 409 and refused.value.code == "transition_conflict"
        assert snapshot(item) == before
        return

    result = feedback_transition(item=item, expected_state=state, **kwargs)
    row = FeedbackItem.objects.get(pk=item.pk)
    assert result.state == row.state == target
    assert row.state_changed_at is not None and row.state_changed_at != before.state_changed_at

    # Exactly one Transition row and one ledger event, and they agree.
    transition = Transition.objects.get(item=item)
    assert (transition.action, transition.from_state, transition.to_state) == (name, state, target)
    events = list(Event.objects.filter(seq__gt=before.last_seq))
    assert len(events) == 1
    event = events[0]
    assert event.action == workflow.EVENT_ACTIONS[name]
    assert transition.event_seq == event.seq
    assert (event.data["from"], event.data["to"]) == (state, target)
    assert event.data["tracking_number"] == item.tracking_number
    assert event.visibility == item.visibility
    assert event.data["rationale"] == kwargs.get("rationale", "")
    assert transition.rationale == kwargs.get("rationale", "")

    # What else the action changes.
    if target in workflow.CLOSED_STATES or target == S.ACCEPTED:
        assert row.resolution == kwargs.get("rationale", "")
    if name == "reopen":
        assert (row.review_round, row.resolution) == (before.review_round + 1, "")
    else:
        assert row.review_round == before.review_round
    assert row.duplicate_of_id == (kwargs["duplicate_of"].pk if name == "mark_duplicate" else None)
    notes = Note.objects.filter(item=item)
    assert notes.count() == before.notes + (1 if "message" in kwargs else 0)
    if "message" in kwargs:
        kind = Note.Kind.SUBMITTER_REPLY if name == "provide_info" else Note.Kind.PUBLIC_REPLY
        assert notes.get().kind == kind

    # A public state change that staff (or publishing) made reaches the submitter once.
    told = OutboxMessage.objects.filter(event_seq=event.seq)
    if workflow.SUBMITTER not in workflow.ACTIONS[name].actors:
        assert list(told.values_list("recipient", flat=True)) == [submitter.email]


@pytest.mark.parametrize("state", [S.RECEIVED, S.IN_REVIEW, S.SPAM])
def test_a_stale_expected_state_changes_nothing(state, item_in, staff):
    """The action is legal from the item's state, but the caller saw another one."""
    item = item_in(state)
    name = {S.RECEIVED: "mark_spam", S.IN_REVIEW: "decline", S.SPAM: "reopen"}[state]
    before = snapshot(item)
    with pytest.raises(TransitionConflict, match="someone else acted on it first") as refused:
        feedback_transition(
            acting_user=staff("reviewer", "triager"),
            item=item,
            action=name,
            expected_state=S.TRIAGED,
            rationale="Because.",
        )
    assert refused.value.field == "state"
    assert snapshot(item) == before


def test_an_unknown_action_is_refused(item_in, staff):
    item = item_in(S.RECEIVED)
    before = snapshot(item)
    with pytest.raises(TransitionConflict, match="no action"):
        feedback_transition(acting_user=staff("editor"), item=item, action="approve")
    assert snapshot(item) == before


def test_actions_for_draws_exactly_the_allowed_moves():
    """The buttons come from the same table: every action drawn is one the service takes."""
    everyone = frozenset({"triager", "reviewer", "editor", "moderator", "submitter"})
    for state in State.values:
        drawn = {a.name for a in workflow.actions_for(state, everyone)}
        expected = {
            name
            for name, (sources, _) in DESIGNED.items()
            if state in sources and name != "incorporate"
        }
        assert drawn == expected, state
    assert [a.name for a in workflow.actions_for(S.ACCEPTED, frozenset({"system"}))] == [
        "incorporate"
    ]
