"""The feedback workflow as one table: (state, action) -> (new state, who may, what is required).

The table is the single source of truth. `feedback.transitions.feedback_transition` checks it
before changing anything, the staff pages draw their buttons from `actions_for`, the API exposes
one endpoint per action, and `tests/feedback/test_workflow.py` walks every (state, action) pair
and every role against it.

Who may act is a set of *actors*: staff role names (`accounts.roles`), ``SUBMITTER`` (the
person who filed the item, through their account or private follow link) and ``SYSTEM``
(publishing a version). What is required is a set of flags: a public rationale, an item this one
duplicates, the approval rule, a message to the submitter.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from modelspec_site.accounts.roles import EDITOR, MODERATOR, REVIEWER, TRIAGER

from .models import State

SUBMITTER = "submitter"
SYSTEM = "system"

# What an action may require.
RATIONALE = "rationale"  # a public rationale (every closing state but spam)
DUPLICATE_OF = "duplicate_of"  # the original item
APPROVAL = "approval"  # the approval rule: enough distinct reviewers' accepts
MESSAGE = "message"  # a message to the submitter (asking for information, or their answer)

CLOSED_STATES = frozenset(
    {
        State.DUPLICATE,
        State.DECLINED,
        State.SPAM,
        State.DEFERRED,
        State.INCORPORATED,
        State.WITHDRAWN,
    }
)
# Where an item waits for staff: the triage queue shows these first.
ACTIVE_STATES = frozenset({State.RECEIVED, State.TRIAGED, State.IN_REVIEW, State.NEEDS_INFO})


@dataclass(frozen=True)
class Action:
    name: str
    label: object  # lazy translation
    sources: frozenset[str]
    target: str
    actors: frozenset[str]
    requires: frozenset[str] = frozenset()
    # Shown on the public timeline (everything but internal bookkeeping is).
    public: bool = True
    # A keyboard shortcut in the triage queue, if any.
    shortcut: str = ""

    def allows(self, state: str) -> bool:
        return state in self.sources

    @property
    def event(self) -> str:
        """The ledger action it records: namespaced and past tense (`feedback.triaged`)."""
        return EVENT_ACTIONS[self.name]


def _action(name, label, sources, target, actors, requires=(), **extra) -> Action:
    return Action(
        name=name,
        label=label,
        sources=frozenset(sources),
        target=target,
        actors=frozenset(actors),
        requires=frozenset(requires),
        **extra,
    )


_STAFF_SORTING = (TRIAGER, REVIEWER, EDITOR)
_CLOSED_REOPENABLE = (
    State.DUPLICATE,
    State.DECLINED,
    State.SPAM,
    State.DEFERRED,
    State.WITHDRAWN,
)

EVENT_ACTIONS: dict[str, str] = {
    "triage": "feedback.triaged",
    "start_review": "feedback.review_started",
    "request_info": "feedback.info_requested",
    "provide_info": "feedback.info_provided",
    "mark_duplicate": "feedback.marked_duplicate",
    "decline": "feedback.declined",
    "mark_spam": "feedback.marked_spam",
    "defer": "feedback.deferred",
    "accept": "feedback.accepted",
    "incorporate": "feedback.incorporated",
    "reopen": "feedback.reopened",
    "withdraw": "feedback.withdrawn",
}

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _action(
            "triage",
            _("Triage"),
            [State.RECEIVED],
            State.TRIAGED,
            _STAFF_SORTING,
            shortcut="t",
        ),
        _action(
            "start_review",
            _("Start review"),
            [State.TRIAGED],
            State.IN_REVIEW,
            _STAFF_SORTING,
            shortcut="r",
        ),
        _action(
            "request_info",
            _("Ask the submitter for more information"),
            [State.RECEIVED, State.TRIAGED],
            State.NEEDS_INFO,
            _STAFF_SORTING,
            requires=[MESSAGE],
        ),
        _action(
            "provide_info",
            _("Send the information asked for"),
            [State.NEEDS_INFO],
            State.RECEIVED,
            [SUBMITTER],
            requires=[MESSAGE],
        ),
        _action(
            "mark_duplicate",
            _("Mark as duplicate"),
            [State.RECEIVED, State.TRIAGED],
            State.DUPLICATE,
            _STAFF_SORTING,
            requires=[DUPLICATE_OF, RATIONALE],
        ),
        _action(
            "decline",
            _("Decline"),
            [State.RECEIVED, State.TRIAGED, State.IN_REVIEW],
            State.DECLINED,
            (TRIAGER, REVIEWER, EDITOR),
            requires=[RATIONALE],
        ),
        _action(
            "mark_spam",
            _("Mark as spam"),
            [State.RECEIVED, State.TRIAGED, State.NEEDS_INFO],
            State.SPAM,
            (TRIAGER, MODERATOR, REVIEWER, EDITOR),
            shortcut="s",
        ),
        _action(
            "defer",
            _("Defer"),
            [State.IN_REVIEW],
            State.DEFERRED,
            (REVIEWER, EDITOR),
            requires=[RATIONALE],
        ),
        _action(
            "accept",
            _("Accept"),
            [State.IN_REVIEW],
            State.ACCEPTED,
            (REVIEWER, EDITOR),
            requires=[RATIONALE, APPROVAL],
        ),
        _action(
            "incorporate",
            _("Incorporate (by publishing a version)"),
            [State.ACCEPTED],
            State.INCORPORATED,
            [SYSTEM],
        ),
        _action(
            "reopen",
            _("Reopen"),
            _CLOSED_REOPENABLE,
            State.TRIAGED,
            (REVIEWER, EDITOR),
            requires=[RATIONALE],
        ),
        _action(
            "withdraw",
            _("Withdraw"),
            [State.RECEIVED, State.TRIAGED, State.IN_REVIEW, State.NEEDS_INFO],
            State.WITHDRAWN,
            [SUBMITTER],
        ),
    )
}

# Only reviewers' and editors' decline from review follows a recorded decline position; a
# triager may decline out of the triage states (out of scope, not about the spec, …).
REVIEW_ONLY_SOURCES = {"decline": frozenset({State.IN_REVIEW})}


def action_get(name: str) -> Action | None:
    return ACTIONS.get(name)


def actors_of(user, *, is_submitter: bool = False) -> frozenset[str]:
    """The actor names `user` acts as: their staff roles, plus SUBMITTER when they own the item."""
    from modelspec_site.accounts.roles import staff_roles

    actors = set(staff_roles(user))
    if is_submitter:
        actors.add(SUBMITTER)
    return frozenset(actors)


def may(action: Action, state: str, actors: frozenset[str]) -> bool:
    """True when `actors` may take `action` from `state` (ignoring what it requires)."""
    if not action.allows(state):
        return False
    allowed = set(action.actors)
    if action.name in REVIEW_ONLY_SOURCES and state in REVIEW_ONLY_SOURCES[action.name]:
        allowed &= {REVIEWER, EDITOR}
    return bool(allowed & actors)


def actions_for(state: str, actors: frozenset[str]) -> list[Action]:
    """The actions these actors may take from `state`, in table order (the buttons)."""
    return [action for action in ACTIONS.values() if may(action, state, actors)]


def is_closed(state: str) -> bool:
    return state in CLOSED_STATES
