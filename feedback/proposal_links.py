"""Feedback <-> change proposals: which proposal answers which item.

`proposal_link_add` links an item to a proposal (editors; ledger event `feedback.proposal_linked`,
internal). `proposal_create_for_item` drafts a proposal from an item and links them in one
transaction. `item_proposal_initial` is what the proposal form starts from: the item's clause
in the published version and its suggested replacement text."""

from __future__ import annotations

from django.db import transaction

from modelspec_site.accounts.roles import EDITOR, has_role
from modelspec_site.audit.models import Visibility
from modelspec_site.audit.services import audit_record
from revisions.models import ChangeProposal, ClauseText
from revisions.proposals import proposal_create, published_version

from .errors import FeedbackError, NotAllowed
from .models import FeedbackItem, ProposalLink


class AlreadyLinked(FeedbackError):
    code = "already_linked"
    status = 409


def proposal_link_add(*, acting_user, item: FeedbackItem, proposal: ChangeProposal) -> ProposalLink:
    """Record that `proposal` answers `item` (both of the same spec)."""
    if not has_role(acting_user, EDITOR):
        raise NotAllowed("Only editors link feedback to change proposals.")
    if proposal.spec_id != item.spec_id:
        raise FeedbackError(
            "The proposal is for another specification than the item.", field="proposal"
        )
    with transaction.atomic():
        link, created = ProposalLink.objects.get_or_create(item=item, proposal=proposal)
        if not created:
            raise AlreadyLinked(
                f"{item.tracking_number} is already linked to P{proposal.pk}.", field="proposal"
            )
        audit_record(
            actor=acting_user,
            action="feedback.proposal_linked",
            subjects=[item, proposal],
            visibility=Visibility.INTERNAL,
            data={"tracking_number": item.tracking_number, "proposal": proposal.pk},
        )
    return link


def proposal_create_for_item(*, acting_user, item: FeedbackItem, **fields) -> ChangeProposal:
    """Draft a change proposal (see `revisions.proposals.proposal_create`) that answers `item`,
    and link them: both or neither."""
    with transaction.atomic():
        proposal = proposal_create(acting_user=acting_user, spec=item.spec, **fields)
        proposal_link_add(acting_user=acting_user, item=item, proposal=proposal)
    return proposal


def item_base_text(item: FeedbackItem) -> ClauseText | None:
    """The item's clause as the published version has it (where it stands now, if it was
    carried forward; else the same clause by identity)."""
    base = published_version(item.spec)
    if base is None:
        return None
    for text_id in (item.current_text_id, item.clause_text_id):
        if text_id is not None:
            text = ClauseText.objects.filter(pk=text_id, version=base).first()
            if text is not None:
                return text
    return ClauseText.objects.filter(version=base, clause_id=item.clause_id).first()


def item_proposal_initial(item: FeedbackItem) -> dict:
    """Initial values of the proposal form for `item`: an edit of its clause. The suggested
    text replaces the quoted passage where the passage stands verbatim in the clause's
    Markdown; with no passage it becomes the proposed text; otherwise the editor starts from
    the current text (the suggestion is shown beside the form)."""
    initial = {
        "operation": ChangeProposal.Operation.EDIT,
        "rationale": f"Answers {item.tracking_number}: {item.summary}",
    }
    text = item_base_text(item)
    if text is None:
        return initial
    body = text.body_markdown
    suggestion = item.suggested_text.strip()
    if suggestion:
        exact = item.quote_exact
        if exact and body.count(exact) == 1:
            body = body.replace(exact, suggestion)
        elif not exact:
            body = suggestion
    return initial | {"clause": text.anchor, "new_heading": text.heading, "new_body_markdown": body}
