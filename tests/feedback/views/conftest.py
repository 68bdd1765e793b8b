"""Helpers for the feedback page tests: a fast form, the latest bundled version, items filed
through the real service, and a valid form submission to start from."""

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback.forms import stamp_new
from feedback.services import Quote, Submission, feedback_submit
from revisions.models import Version

LABEL = "2025-09-12"
CLAUSE = "letter_and_spirit"
FORM_URL = "/feedback/new/"


@pytest.fixture(autouse=True)
def _fast_form(settings):
    settings.FEEDBACK_MIN_FILL_SECONDS = 0


@pytest.fixture
def version(db):
    return Version.objects.select_related("spec").get(spec__slug="model-spec", label=LABEL)


@pytest.fixture
def file_item(version):
    """File an item through feedback_submit, as the form would."""

    def file(
        *,
        user=None,
        clause=CLAUSE,
        kind="unclear",
        summary="A summary",
        quote=None,
        on=None,
        **fields,
    ):
        submission = Submission(
            version=on or version,
            clause_id=clause,
            kind=kind,
            summary=summary,
            quote=Quote(**quote) if quote else None,
            **fields,
        )
        return feedback_submit(acting_user=user or AnonymousUser(), submission=submission)

    return file


def form_data(**overrides) -> dict:
    data = {
        "spec": "model-spec",
        "version": LABEL,
        "clause": CLAUSE,
        "kind": "unclear",
        "summary": "Intent is unclear here",
        "body": "The word *intent* needs a definition.",
        "severity": "medium",
        "started": stamp_new(),
        "homepage": "",
    }
    data.update(overrides)
    return data
