"""What feedback adds to a change proposal's staff page (registered in
`apps.FeedbackConfig.ready`): the feedback items the proposal answers, with their tracking
numbers, summaries and states (only what the viewer may see), and where a proposal is drafted
from an item (`?item=` on the new-proposal page)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from revisions.hooks import ReaderHook
from revisions.models import ChangeProposal

from .selectors import feedback_visible_to, viewer_is_staff


class ProposalFeedbackHook(ReaderHook):
    def proposal_extras(self, *, request: HttpRequest, proposal: ChangeProposal) -> str:
        items = list(
            feedback_visible_to(request.user)
            .filter(proposal_links__proposal=proposal)
            .order_by("tracking_number")
            .only("tracking_number", "summary", "state", "visibility")
        )
        if not items:
            return format_html("<p>{}</p>", gettext("No feedback item is linked to it."))
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> {} <span class="state fb-state-{}">{}</span></li>',
            (
                (
                    reverse("staff:item", kwargs={"tracking_number": item.tracking_number}),
                    item.tracking_number,
                    item.summary,
                    item.state,
                    item.get_state_display(),
                )
                for item in items
            ),
        )
        return format_html(
            '<h3>{}</h3><ul class="proposal-feedback">{}</ul>', gettext("Linked feedback"), rows
        )

    def proposal_form_url(self, *, request: HttpRequest, reference: str) -> str:
        if not viewer_is_staff(request.user):
            return ""
        item = feedback_visible_to(request.user).filter(tracking_number=reference.strip()).first()
        if item is None:
            return ""
        return reverse("staff:item-propose", kwargs={"tracking_number": item.tracking_number})
