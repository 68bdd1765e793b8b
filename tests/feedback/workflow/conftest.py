"""Fixtures for the workflow tests: items filed through the real service, staff by role."""

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback.services import Submission, feedback_submit
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
        submission = Submission(
            version=version, clause_id=clause or clause_of_rank(version, rank), **fields
        )
        return feedback_submit(acting_user=user or AnonymousUser(), submission=submission).item

    return file


@pytest.fixture
def staff(make_user):
    """staff("triager") -> a user holding that role (name = role unless given)."""

    def make(*roles, username=None):
        return make_user(username or "-".join(roles) or "plain", roles=roles, is_staff=True)

    return make
