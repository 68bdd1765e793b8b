"""Every role against every action, from every state the action starts from.

Roles: each staff role alone, a public account, an anonymous visitor, and the submitter both
through their account and through their private follow link (`follow_token_ok`). The oracle
is written out from DESIGN.md §3 and issue 4: triagers sort, reviewers decide, moderators
only mark spam, auditors change nothing, submitters withdraw and answer questions, and only
publishing incorporates."""

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback import workflow
from feedback.errors import NotAllowed
from feedback.models import FeedbackItem, State, Transition
from feedback.transitions import feedback_transition
from modelspec_site.audit.models import Event

from .conftest import approve, snapshot

pytestmark = pytest.mark.django_db

S = State
SORTING = {"triager", "reviewer", "editor"}
DECIDING = {"reviewer", "editor"}
ROLES = [
    "triager",
    "reviewer",
    "editor",
    "moderator",
    "auditor",
    "public",
    "anonymous",
    "submitter_account",
    "submitter_link",
]
SUBMITTER = {"submitter_account", "submitter_link"}
# (action, from state) -> roles allowed.
ALLOWED = {
    ("triage", S.RECEIVED): SORTING,
    ("start_review", S.TRIAGED): SORTING,
    ("request_info", S.RECEIVED): SORTING,
    ("request_info", S.TRIAGED): SORTING,
    ("provide_info", S.NEEDS_INFO): SUBMITTER,
    ("mark_duplicate", S.RECEIVED): SORTING,
    ("mark_duplicate", S.TRIAGED): SORTING,
    ("decline", S.RECEIVED): SORTING,
    ("decline", S.TRIAGED): SORTING,
    ("decline", S.IN_REVIEW): DECIDING,  # out of review only after positions are recorded
    ("mark_spam", S.RECEIVED): SORTING | {"moderator"},
    ("mark_spam", S.TRIAGED): SORTING | {"moderator"},
    ("mark_spam", S.NEEDS_INFO): SORTING | {"moderator"},
    ("defer", S.IN_REVIEW): DECIDING,
    ("accept", S.IN_REVIEW): DECIDING,
    ("incorporate", S.ACCEPTED): set(),  # publishing only (system)
    **{("reopen", state): DECIDING for state in workflow.ACTIONS["reopen"].sources},
    **{("withdraw", state): SUBMITTER for state in workflow.ACTIONS["withdraw"].sources},
}
CASES = [(name, state, role) for (name, state) in ALLOWED for role in ROLES]


def test_the_oracle_covers_every_allowing_state():
    assert set(ALLOWED) == {
        (name, state) for name, action in workflow.ACTIONS.items() for state in action.sources
    }


@pytest.fixture
def acting(make_user, staff):
    def who(role, item):
        if role == "submitter_account":
            return item.submitter, {}
        if role == "submitter_link":
            return AnonymousUser(), {"follow_token_ok": True}
        if role == "anonymous":
            return AnonymousUser(), {}
        if role == "public":
            return make_user("someone-else"), {}
        return staff(role), {}

    return who


def _required(name, item, file_item, staff):
    action = workflow.ACTIONS[name]
    extra = {}
    if workflow.RATIONALE in action.requires:
        extra["rationale"] = "Because."
    if workflow.MESSAGE in action.requires:
        extra["message"] = "Here is more."
    if workflow.DUPLICATE_OF in action.requires:
        extra["duplicate_of"] = file_item(rank=3, summary="The original")
    if workflow.APPROVAL in action.requires:
        approve(item, [staff("reviewer", username=f"r{n}") for n in range(2)])
    return extra


@pytest.mark.parametrize(
    ("name", "state", "role"), CASES, ids=[f"{a}-{s}-{r}" for a, s, r in CASES]
)
def test_every_role_against_every_action(name, state, role, item_in, file_item, staff, acting):
    item = item_in(state, rank=1)
    user, extra = acting(role, item)
    kwargs = _required(name, item, file_item, staff) | extra
    before = snapshot(item)

    if role not in ALLOWED[(name, state)]:
        with pytest.raises(NotAllowed) as refused:
            feedback_transition(acting_user=user, item=item, action=name, **kwargs)
        assert (refused.value.status, refused.value.code) == (403, "permission_denied")
        assert snapshot(item) == before
        return

    feedback_transition(acting_user=user, item=item, action=name, **kwargs)
    assert FeedbackItem.objects.get(pk=item.pk).state == workflow.ACTIONS[name].target
    transition = Transition.objects.get(item=item)
    event = Event.objects.get(seq=transition.event_seq)
    if user.is_authenticated:
        assert (transition.actor, transition.actor_label) == (user, user.get_username())
        assert (event.actor_kind, event.actor_label) == ("user", user.get_username())
    else:  # the submitter through the private link: no account, never "system"
        assert (transition.actor, transition.actor_label) == (None, "submitter")
        assert event.actor_kind == "anonymous"


@pytest.mark.parametrize("role", ["editor", "reviewer", "anonymous"])
def test_only_publishing_incorporates(role, item_in, staff):
    """`system=True` is what publishing a version passes; the actor may be anyone then."""
    item = item_in(S.ACCEPTED)
    user = AnonymousUser() if role == "anonymous" else staff(role)
    feedback_transition(acting_user=user, item=item, action="incorporate", system=True)
    transition = Transition.objects.get(item=item)
    assert transition.to_state == S.INCORPORATED
    event = Event.objects.get(seq=transition.event_seq)
    if role == "anonymous":
        assert (event.actor_kind, transition.actor_label) == ("system", "system")
    else:  # an editor publishing: the ledger names them
        assert (event.actor_kind, event.actor_label) == ("user", role)


def test_a_staff_member_who_filed_the_item_may_withdraw_it(item_in, staff):
    triager = staff("triager")
    item = item_in(S.TRIAGED, user=triager)
    feedback_transition(acting_user=triager, item=item, action="withdraw")
    assert FeedbackItem.objects.get(pk=item.pk).state == S.WITHDRAWN


def test_superusers_hold_every_staff_role(item_in, make_user):
    root = make_user("root", is_superuser=True, is_staff=True)
    item = item_in(S.IN_REVIEW)
    with pytest.raises(NotAllowed):  # still not the submitter
        feedback_transition(acting_user=root, item=item, action="withdraw")
    feedback_transition(acting_user=root, item=item, action="defer", rationale="Later.")
    assert FeedbackItem.objects.get(pk=item.pk).state == S.DEFERRED
