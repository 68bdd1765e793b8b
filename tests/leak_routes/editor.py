"""Change proposals and the draft builder in the canary crawl: every page is staff-only
(sign-in for the public, 403 for accounts without a role), and nothing of a proposal reaches a
public page: its text, heading, rationale, reviewers' positions, author, and the feedback it is
linked to.

Planted here: an accepted proposal against the published version with marked text, heading and
rationale, a reviewer's marked position, linked to an internal and a public item (so the public
item's pages are checked for proposal content), and a second proposal in review by the same
author."""

from __future__ import annotations

import uuid

from feedback.proposal_links import proposal_link_add
from revisions.models import ChangeProposal, ClauseText, Version
from revisions.proposals import proposal_create, proposal_position
from tests.leaks_support import Way

ROUTES: dict[str, Way] = {
    "staff/proposals/": Way(queries=("", "?state=accepted", "?state=in_review&spec=model-spec")),
    "staff/proposals/new/": Way(queries=("", "?clause=letter_and_spirit", "?item=MS-2025-00001")),
    "staff/proposals/<int:pk>/": Way(),
    "staff/proposals/<int:pk>/edit/": Way(),
    "staff/proposals/<int:pk>/position/": Way(),  # POST only: 405
    "staff/proposals/<int:pk>/withdraw/": Way(),  # POST only: 405
    "staff/drafts/": Way(),
    "staff/drafts/start/": Way(),  # POST only: 405
    "staff/drafts/<int:pk>/": Way(),
    "staff/drafts/<int:pk>/apply/": Way(),  # POST only: 405
    "staff/drafts/<int:pk>/clauses/<str:clause_id>/": Way(),
    "staff/drafts/<int:pk>/import/": Way(),
    "staff/drafts/<int:pk>/delete/": Way(),
    "staff/items/<feedback_tracking:tracking_number>/propose/": Way(),
    "staff/items/<feedback_tracking:tracking_number>/proposals/link/": Way(),  # POST only: 405
    # POST only: 405
    "staff/items/<feedback_tracking:tracking_number>/proposals/<int:proposal_id>/unlink/": Way(),
}


def plant(w, *, make_user) -> None:
    tag = uuid.uuid4().hex[:8]
    editor = make_user(f"editor{tag}", roles=["editor"], is_staff=True)
    reviewer = make_user(f"propreviewer{tag}", roles=["reviewer"], is_staff=True)
    for user in (editor, reviewer):
        w.secrets[user.username] = "staff username"
        w.secrets[user.email] = "staff e-mail"
    latest = Version.objects.get(spec__slug="model-spec", state=Version.State.PUBLISHED)
    # A guideline-or-lower clause: one reviewer's accept is enough.
    base = (
        ClauseText.objects.filter(version=latest, authority_rank__gte=2)
        .order_by("position")
        .first()
    )
    proposal = proposal_create(
        acting_user=editor,
        spec=latest.spec,
        operation="edit",
        base_text=base,
        new_heading=f"Heading {w.mark('proposal: heading')}",
        new_body_markdown=f"Proposed {w.mark('proposal: text')} words.",
        rationale=f"Because {w.mark('proposal: rationale')}.",
    )
    proposal_position(acting_user=reviewer, proposal=proposal, position="accept",
                      rationale=w.mark("proposal: reviewer's rationale"))  # fmt: skip
    for name in ("internal-1", "public-1"):
        proposal_link_add(acting_user=editor, item=w.items[name], proposal=proposal)
    second = proposal_create(
        acting_user=editor,
        spec=latest.spec,
        operation="remove",
        base_text=base,
        rationale=f"Remove it: {w.mark('proposal in review: rationale')}",
    )
    w.proposal_ids = [str(proposal.pk), str(second.pk)]
    assert ChangeProposal.objects.get(pk=proposal.pk).state == ChangeProposal.State.ACCEPTED


def values(w) -> dict[str, list[str]]:
    draft = Version.objects.get(label=w.draft_label)
    proposal_ids = getattr(w, "proposal_ids", [])
    return {"pk": [*proposal_ids, str(draft.pk)], "proposal_id": list(proposal_ids)}


def missing(w) -> dict[str, list[str]]:
    return {"pk": ["999999999"], "proposal_id": ["999999999"]}
