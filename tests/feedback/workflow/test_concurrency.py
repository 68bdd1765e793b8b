"""Two people acting on one item at once, each in its own thread, connection and transaction:
exactly one wins, the other gets TransitionConflict (409), one Transition row is written, and
the ledger's chain still verifies."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection

from feedback.errors import TransitionConflict
from feedback.models import Decision, FeedbackItem, Position, State, Transition
from feedback.services import feedback_submit
from feedback.transitions import feedback_transition
from modelspec_site.audit.models import Event
from modelspec_site.audit.verify import audit_verify
from tests.outbox.conftest import bundled_ensure

from .conftest import clause_of_rank

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_SECONDS = 30
ROUNDS = 5


def user_with(username, *roles):
    user = get_user_model().objects.create_user(username=username, email=f"{username}@ex.org")
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def file_in(version, state, rank=3):
    from feedback.services import Submission

    submission = Submission(
        version=version,
        clause_id=clause_of_rank(version, rank),
        kind="unclear",
        summary="Two people act at once",
        submitter_email="someone@example.org",
    )
    item = feedback_submit(acting_user=AnonymousUser(), submission=submission).item
    FeedbackItem.objects.filter(pk=item.pk).update(state=state)
    item.refresh_from_db()
    return item


def race(item, moves):
    """Run each (user, action, kwargs) in its own thread, released together by a barrier.
    Returns the outcomes in order: the new state, or the exception raised."""
    start = threading.Barrier(len(moves), timeout=TIMEOUT_SECONDS)
    outcomes: list = [None] * len(moves)

    def act(index, user, action, kwargs):
        try:
            mine = FeedbackItem.objects.get(pk=item.pk)  # each thread reads its own copy
            start.wait()
            outcomes[index] = feedback_transition(
                acting_user=user, item=mine, action=action, **kwargs
            ).state
        except BaseException as exc:  # reported by the main thread
            outcomes[index] = exc
        finally:
            connection.close()  # each thread has its own connection

    threads = [
        threading.Thread(target=act, args=(index, *move)) for index, move in enumerate(moves)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "the race did not finish"
    return outcomes


def one_won(outcomes, winners):
    won = [o for o in outcomes if isinstance(o, str)]
    lost = [o for o in outcomes if not isinstance(o, str)]
    assert len(won) == 1 and won[0] in winners, outcomes
    assert len(lost) == len(outcomes) - 1
    for exc in lost:
        assert isinstance(exc, TransitionConflict), repr(exc)
        assert (exc.status, exc.code) == (409, "transition_conflict")
    return won[0]


def test_two_triagers_triage_the_same_item_once():
    version = bundled_ensure()
    a, b = user_with("triager-a", "triager"), user_with("triager-b", "triager")
    for _ in range(ROUNDS):
        item = file_in(version, State.RECEIVED)
        events = Event.objects.count()
        expected = {"expected_state": State.RECEIVED}
        outcomes = race(item, [(a, "triage", expected), (b, "triage", expected)])
        assert one_won(outcomes, {State.TRIAGED}) == State.TRIAGED
        assert Transition.objects.filter(item=item).count() == 1
        assert Event.objects.count() == events + 1
    result = audit_verify()
    assert result.ok, result.reason
    assert result.count == Event.objects.count()


def test_two_reviewers_deciding_differently_cannot_both_win():
    """One declines while the other accepts, both having seen the item in review."""
    version = bundled_ensure()
    r1, r2 = user_with("reviewer-1", "reviewer"), user_with("reviewer-2", "reviewer")
    final = set()
    for _ in range(ROUNDS):
        item = file_in(version, State.IN_REVIEW, rank=0)
        for reviewer in (r1, r2):
            Decision.objects.create(
                item=item, reviewer=reviewer, review_round=1, position=Position.ACCEPT
            )
        expected = {"expected_state": State.IN_REVIEW, "rationale": "Decided."}
        outcomes = race(item, [(r1, "accept", expected), (r2, "decline", expected)])
        state = one_won(outcomes, {State.ACCEPTED, State.DECLINED})
        final.add(state)
        row = FeedbackItem.objects.get(pk=item.pk)
        assert row.state == state
        transition = Transition.objects.get(item=item)
        assert (transition.from_state, transition.to_state) == (State.IN_REVIEW, state)
        assert Event.objects.filter(seq=transition.event_seq, data__to=state).exists()
    assert audit_verify().ok


def test_without_expected_state_the_table_still_refuses_the_second():
    """Neither says what it saw: the second finds the item already triaged, where a triage
    is not possible, and is refused all the same."""
    version = bundled_ensure()
    a, b = user_with("t-a", "triager"), user_with("t-b", "triager")
    item = file_in(version, State.RECEIVED)
    outcomes = race(item, [(a, "triage", {}), (b, "triage", {})])
    one_won(outcomes, {State.TRIAGED})
    assert Transition.objects.filter(item=item).count() == 1
    assert audit_verify().ok
