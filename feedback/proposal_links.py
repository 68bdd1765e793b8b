"""Feedback <-> change proposals: which proposal answers which item.

`proposal_link_add` links an item to a proposal (editors; ledger event `feedback.proposal_linked`,
internal); `proposal_link_remove` undoes a link made by mistake while the proposal is not yet
published (ledger event `feedback.proposal_unlinked`, internal). `proposal_create_for_item` drafts a proposal from an item and links them in one
transaction. `item_proposal_initial` is what the proposal form starts from: the item's clause
in the published version and its suggested replacement text."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from modelspec_site.accounts.roles import EDITOR, has_role
from modelspec_site.audit.models import Visibility
from modelspec_site.audit.services import audit_record
from revisions.models import ChangeProposal, ClauseText, Version
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


class NotLinked(FeedbackError):
    code = "not_linked"
    status = 409


class LinkIsHistory(FeedbackError):
    """The proposal is published: the version says which feedback it answered, so the link
    stays."""

    code = "proposal_published"
    status = 409


UNLINK_REASON_MAX = 1000


def proposal_link_remove(
    *, acting_user, item: FeedbackItem, proposal: ChangeProposal, reason: str = ""
) -> None:
    """Remove the link between `item` and `proposal` (editors), as long as the proposal is not
    published in a version: publishing incorporates the items linked to it, so until then a
    wrong link must be undoable, and after it the link is part of the record. The ledger keeps
    the original `feedback.proposal_linked` event and gains `feedback.proposal_unlinked`."""
    if not has_role(acting_user, EDITOR):
        raise NotAllowed(_("Only editors unlink feedback from change proposals."))
    reason = (reason or "").strip()
    if len(reason) > UNLINK_REASON_MAX:
        raise FeedbackError(
            _("Keep the reason under %(max)s characters.") % {"max": UNLINK_REASON_MAX},
            field="reason",
        )
    with transaction.atomic():
        # Lock the proposal row: publishing marks its proposals published (an UPDATE of the
        # same row) before it reads the links to incorporate, so either publishing waits for
        # this removal and no longer sees the link, or this waits and sees it published.
        # Only this row (`of`): publishing locks the version first.
        locked = (
            ChangeProposal.objects.select_for_update(of=("self",))
            .select_related("draft")
            .get(pk=proposal.pk)
        )
        link = (
            ProposalLink.objects.select_for_update()
            .filter(item_id=item.pk, proposal_id=locked.pk)
            .first()
        )
        if link is None:
            raise NotLinked(
                _("%(number)s is not linked to P%(pk)s.")
                % {"number": item.tracking_number, "pk": locked.pk},
                field="proposal",
            )
        published = locked.state == ChangeProposal.State.PUBLISHED or (
            locked.draft is not None and locked.draft.state != Version.State.DRAFT
        )
        if published:
            raise LinkIsHistory(
                _("P%(pk)s is published in a version: its link to %(number)s is history and stays.")
                % {"number": item.tracking_number, "pk": locked.pk},
                field="proposal",
            )
        link.delete()
        audit_record(
            actor=acting_user,
            action="feedback.proposal_unlinked",
            subjects=[item, locked],
            visibility=Visibility.INTERNAL,
            data={
                "tracking_number": item.tracking_number,
                "proposal": locked.pk,
                "reason": reason,
            },
        )


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
