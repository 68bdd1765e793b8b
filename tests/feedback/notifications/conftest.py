"""Fixtures for the notification tests: items filed through the real service, staff by role,
followers, and a look at the outbox rows an event wrote."""

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback.services import Submission, feedback_submit
from modelspec_site.outbox.models import OutboxMessage
from revisions.models import ClauseText, Version

LABEL = "2025-09-12"


@pytest.fixture
def version(db):
    return Version.objects.select_related("spec").get(spec__slug="model-spec", label=LABEL)


def first_anchor(version, *, skip: int = 0) -> str:
    return (
        ClauseText.objects.filter(version=version, authority_rank=3)
        .order_by("position")
        .values_list("anchor", flat=True)[skip]
    )


@pytest.fixture
def file_item(version):
    """file_item(user=…, submitter_email=…, visibility=…, clause=…) -> a filed item."""

    def file(*, user=None, clause=None, **fields):
        fields.setdefault("kind", "unclear")
        fields.setdefault("summary", "Submitter words about refusals")
        submission = Submission(version=version, clause_id=clause or first_anchor(version),
                                **fields)  # fmt: skip
        return feedback_submit(acting_user=user or AnonymousUser(), submission=submission).item

    return file


@pytest.fixture
def staff(make_user):
    def make(*roles, username=None):
        return make_user(username or "-".join(roles), roles=roles, is_staff=True)

    return make


def rows(kind=None, *, after=0):
    """Outbox rows (kind "feedback.<kind>"), newer than id `after`, by recipient."""
    query = OutboxMessage.objects.filter(pk__gt=after)
    if kind is not None:
        query = query.filter(kind=f"feedback.{kind}")
    return {m.recipient: m for m in query.order_by("pk")}


def recipients(kind=None, *, after=0):
    query = OutboxMessage.objects.filter(pk__gt=after)
    if kind is not None:
        query = query.filter(kind=f"feedback.{kind}")
    return sorted(query.values_list("recipient", flat=True))


def last_id() -> int:
    return OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
