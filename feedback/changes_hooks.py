"""What feedback adds to a version's changes page (revisions' `changes_extras` hook): next to
each change, the feedback items that a change proposal applied in this version answered (only
those the viewer may see), and a link to the version's disposition report. One query."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from revisions.hooks import ReaderHook
from revisions.models import ChangeProposal, Version

from .models import State
from .selectors import feedback_visible_to, placed_for


class FeedbackChangesHook(ReaderHook):
    def changes_extras(
        self, *, request: HttpRequest, version: Version, links: Sequence
    ) -> Mapping[int | str, str]:
        viewer = request.user
        rows = (
            placed_for(viewer, feedback_visible_to(viewer))
            .filter(
                proposal_links__proposal__draft=version,
                proposal_links__proposal__state__in=[
                    ChangeProposal.State.APPLIED,
                    ChangeProposal.State.PUBLISHED,
                ],
            )
            .order_by("tracking_number")
            .values(
                "tracking_number", "summary", "state",
                "proposal_links__proposal__applied_anchor",
                "proposal_links__proposal__base_text_id",
            )
        )  # fmt: skip
        removed = {link.old_text_id: link.pk for link in links if not link.new_text_id}
        found: dict[int | str, list[dict]] = {}
        for row in rows:
            anchor = row["proposal_links__proposal__applied_anchor"]
            key = anchor or removed.get(row["proposal_links__proposal__base_text_id"])
            if key:
                found.setdefault(key, []).append(row)
        out: dict[int | str, str] = {
            key: format_html(
                '<p class="change-because">{}</p><ul class="change-items">{}</ul>',
                gettext("In answer to:"),
                format_html_join(
                    "",
                    '<li><a href="{}">{}</a> {} <span class="state">({})</span></li>',
                    (
                        (
                            reverse("feedback:item", args=[row["tracking_number"]]),
                            row["tracking_number"],
                            row["summary"],
                            State(row["state"]).label,
                        )
                        for row in items
                    ),
                ),
            )
            for key, items in found.items()
        }
        out[""] = format_html(
            '<p class="disposition-link"><a href="{}">{}</a></p>',
            reverse("disposition:page", kwargs={"spec": version.spec.slug, "label": version.label}),
            gettext("What happened to the feedback received on this version"),
        )
        return out
