"""Fixtures for the workflow tests: items filed through the real service, staff by role, items
put in a given state, and a snapshot of everything a transition writes."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback.models import Decision, FeedbackItem, Note, Position, Transition
from feedback.services import Submission, feedback_submit
from modelspec_site.audit.models import Event
from modelspec_site.outbox.models import OutboxMessage
from revisions.models import ClauseText, Version

LABEL = "2025-09-12"


@pytest.fixture
def version(db):
    return Version.objects.select_related("spec").get(spec__slug="model-spec", label=LABEL)


def clause_of_rank(version, rank):
    return (
        ClauseText.objects.filter(version=version, authority_rank=rank)
        .order_by("position")
        .values_list("anchor", flat=True)
        .first()
    )


@pytest.fixture
def file_item(version):
    def file(*, user=None, clause=None, rank=3, **fields):
        fields.setdefault("kind", "unclear")
        fields.setdefault("summary", "A summary")
        anchor = clause or clause_of_rank(version, rank)
        assert anchor, f"the bundled version has no clause of authority rank {rank}"
        submission = Submission(version=version, clause_id=anchor, **fields)
        return feedback_submit(acting_user=user or AnonymousUser(), submission=submission).item

    return file


@pytest.fixture
def staff(make_user):
    """staff("triager") -> a user holding that role (name = role unless given)."""

    def make(*roles, username=None):
        return make_user(username or "-".join(roles) or "plain", roles=roles, is_staff=True)

    return make


@pytest.fixture
def item_in(file_item, make_user, django_user_model):
    """item_in(state) -> an item filed by the account `submitter`, then set to `state` directly
    (test arrangement: the workflow is what is under test, not how the item got there)."""

    def make(state, *, rank=3, **fields):
        submitter = fields.pop("user", None)
        if submitter is None:
            submitter = django_user_model.objects.filter(username="submitter").first()
            submitter = submitter or make_user("submitter")
        item = file_item(user=submitter, rank=rank, **fields)
        FeedbackItem.objects.filter(pk=item.pk).update(state=state)
        item.refresh_from_db()
        return item

    return make


def approve(item, reviewers) -> None:
    """Accepts recorded for the item's current round, in any state (test arrangement)."""
    for reviewer in reviewers:
        Decision.objects.create(
            item=item,
            reviewer=reviewer,
            review_round=item.review_round,
            position=Position.ACCEPT,
            rationale="Agreed.",
        )


@dataclass(frozen=True)
class Snapshot:
    """What a transition may change, for one item and site-wide."""

    state: str
    state_changed_at: object
    resolution: str
    review_round: int
    duplicate_of_id: int | None
    transitions: int
    events: int
    last_seq: int
    notes: int
    outbox: int


def snapshot(item) -> Snapshot:
    row = FeedbackItem.objects.get(pk=item.pk)
    last = Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    return Snapshot(
        state=row.state,
        state_changed_at=row.state_changed_at,
        resolution=row.resolution,
        review_round=row.review_round,
        duplicate_of_id=row.duplicate_of_id,
        transitions=Transition.objects.filter(item=item).count(),
        events=Event.objects.count(),
        last_seq=last,
        notes=Note.objects.filter(item=item).count(),
        outbox=OutboxMessage.objects.count(),
    )
