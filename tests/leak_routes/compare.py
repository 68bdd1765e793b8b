"""Comparing versions and clause histories in the canary crawl: the compare form and pages (also
with a draft on either side, which the public must get as a 404), the compare API, and the
clause history page (its API is crawled by tests/test_leaks.py itself).

Planted here: the feedback a clause history shows behind a change, which must stay within
`feedback_visible_to`: an internal item and a hidden public item, both with marked summaries
and decision rationales, answered by a change proposal applied in the published version."""

from __future__ import annotations

from feedback.models import FeedbackItem, ProposalLink, State, Visibility
from feedback.services import Submission, feedback_submit
from revisions.models import ChangeProposal, ClauseText, Version
from tests.leaks_support import Way

ROUTES: dict[str, Way] = {
    "specs/<slug:spec>/compare/": Way(
        queries=("", "?from_label=2025-04-11&to_label=2025-09-12", "?from_label=x&to_label=y")
    ),
    "specs/<slug:spec>/compare/<str:from_label>/<str:to_label>/": Way(queries=("", "?view=side")),
    "specs/<slug:spec>/clauses/<str:clause_id>/history/": Way(),
    "api/v1/specs/<slug:spec>/compare/<str:from_label>/<str:to_label>/": Way(kind="api"),
}

CLAUSE = "letter_and_spirit"


def values(w) -> dict[str, list[str]]:
    return {
        "from_label": ["2025-04-11", w.draft_label],
        "to_label": ["2025-09-12", w.draft_label],
    }


def missing(w) -> dict[str, list[str]]:
    return {"from_label": ["2098-01-01"], "to_label": ["2098-01-01"]}


def plant(w, *, make_user) -> None:
    insider = w.staff[0]
    latest = Version.objects.get(spec__slug="model-spec", state=Version.State.PUBLISHED)
    older = latest.parent or Version.objects.get(spec__slug="model-spec", label="2025-04-11")

    def file(name: str, visibility: str):
        submission = Submission(
            version=latest,
            clause_id=CLAUSE,
            kind="unclear",
            summary=f"History canary {w.mark(f'{name}: summary')}",
            body=w.mark(f"{name}: body"),
            visibility=visibility,
        )
        item = feedback_submit(acting_user=insider, submission=submission).item
        FeedbackItem.objects.filter(pk=item.pk).update(
            state=State.INCORPORATED, resolution=w.mark(f"{name}: rationale")
        )
        w.items[name] = item
        return item

    internal = file("history-internal", Visibility.INTERNAL)
    w.secrets[internal.tracking_number] = "history-internal: tracking number"
    hidden = file("history-hidden", Visibility.PUBLIC)
    FeedbackItem.objects.filter(pk=hidden.pk).update(hidden=True, hidden_reason="Off topic.")
    proposal = ChangeProposal.objects.create(
        spec=latest.spec,
        operation=ChangeProposal.Operation.EDIT,
        state=ChangeProposal.State.PUBLISHED,
        base_version=older,
        base_text=ClauseText.objects.filter(version=older, anchor=CLAUSE).first(),
        new_anchor=CLAUSE,
        rationale="Clarify.",
        author=insider,
        draft=latest,
        applied_anchor=CLAUSE,
    )
    for item in (internal, hidden):
        ProposalLink.objects.create(item=item, proposal=proposal)
