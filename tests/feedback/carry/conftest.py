"""A new version made from the bundled 2025-09-12 with a few edits, items filed on
2025-09-12 through the real service, and publishing through `version_publish`."""

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback.services import Quote, Submission, feedback_submit
from feedback.transitions import feedback_transition
from revisions.models import Version
from revisions.services import version_import, version_publish

LABEL = "2025-09-12"
NEW = "2025-12-01"
CLAUSE = "letter_and_spirit"
REMOVED = "use_preset_voice_in_voice_mode"
KEPT_QUOTE = "consider plausible implicit goals and preferences"
CHANGED_QUOTE = "strive to detect conflicts and ambiguities"


def edited_source(source: bytes) -> bytes:
    text = source.decode("utf-8")
    text = text.replace(
        "The assistant should strive to detect conflicts and ambiguities",
        "The assistant must strive to find conflicts and ambiguities",
    )
    start = text.index("## Always use the preset voice {#" + REMOVED)
    end = text.index("## Uphold fairness {#uphold_fairness")
    return (text[:start] + text[end:]).encode("utf-8")


@pytest.fixture
def current(db):
    return Version.objects.select_related("spec").get(spec__slug="model-spec", label=LABEL)


@pytest.fixture
def draft(current, bundled_source):
    result = version_import(spec=current.spec, label=NEW, data=edited_source(bundled_source(LABEL)))
    return result.version


@pytest.fixture
def publish(draft):
    def run(**kwargs):
        steps = []
        version = version_publish(
            version=draft,
            progress=lambda step, done, total: steps.append((step, done, total)),
            **kwargs,
        )
        version.steps = steps
        return version

    return run


@pytest.fixture
def file_item(current):
    def file(*, clause=CLAUSE, quote=None, user=None, **fields):
        text = current.clause_texts.get(anchor=clause).plain_text
        selector = None
        if quote:
            start = text.index(quote)
            selector = Quote(
                exact=quote,
                prefix=text[max(0, start - 32) : start],
                suffix=text[start + len(quote) : start + len(quote) + 32],
                start=start,
                end=start + len(quote),
            )
        fields.setdefault("kind", "unclear")
        fields.setdefault("summary", "A summary")
        submission = Submission(version=current, clause_id=clause, quote=selector, **fields)
        return feedback_submit(acting_user=user or AnonymousUser(), submission=submission)

    return file


@pytest.fixture
def accept(make_user):
    """Walk an item to accepted through the workflow (two reviewers for root clauses)."""
    from feedback.transitions import decision_record

    people = []

    def run(item):
        if not people:
            people.append(make_user("editor-a", roles=("editor", "reviewer")))
            people.append(make_user("reviewer-b", roles=("reviewer",)))
        editor, other = people
        feedback_transition(acting_user=editor, item=item, action="triage")
        feedback_transition(acting_user=editor, item=item, action="start_review")
        for who in (editor, other):
            decision_record(acting_user=who, item=item, position="accept", rationale="Agreed.")
        return feedback_transition(
            acting_user=editor, item=item, action="accept", rationale="We will change it."
        )

    return run
