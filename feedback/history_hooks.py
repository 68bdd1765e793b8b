"""What feedback adds to a clause's history (revisions' `history_extras` / `history_data`
hooks): for each version, the feedback items that a change proposal applied to this clause in
that version answered, with the public rationale of their decision. Only what
`feedback_visible_to` lets the viewer see (and, for the public, nothing a moderator hid).
One query for the whole history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from revisions.hooks import ReaderHook
from revisions.models import ChangeProposal

from .models import State
from .selectors import feedback_visible_to, placed_for


def behind_changes(*, viewer, spec: str, entries: Sequence) -> dict[str, list[dict]]:
    """{version label: [{tracking_number, summary, state, rationale, url}]} for the versions
    and clause ids of `entries` (HistoryEntry: label, anchor)."""
    wanted = {(entry.label, entry.anchor) for entry in entries}
    if not wanted:
        return {}
    rows = (
        placed_for(viewer, feedback_visible_to(viewer))
        .filter(
            proposal_links__proposal__draft__spec__slug=spec,
            proposal_links__proposal__draft__label__in={label for label, _ in wanted},
            proposal_links__proposal__applied_anchor__in={anchor for _, anchor in wanted},
            proposal_links__proposal__state__in=[
                ChangeProposal.State.APPLIED,
                ChangeProposal.State.PUBLISHED,
            ],
        )
        .order_by("tracking_number")
        .values(
            "tracking_number", "summary", "state", "resolution",
            "proposal_links__proposal__draft__label",
            "proposal_links__proposal__applied_anchor",
        )
        .distinct()
    )  # fmt: skip
    found: dict[str, list[dict]] = {}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        label = row["proposal_links__proposal__draft__label"]
        if (label, row["proposal_links__proposal__applied_anchor"]) not in wanted:
            continue
        if (label, row["tracking_number"]) in seen:
            continue
        seen.add((label, row["tracking_number"]))
        found.setdefault(label, []).append(
            {
                "tracking_number": row["tracking_number"],
                "summary": row["summary"],
                "state": row["state"],
                "rationale": row["resolution"],
                "url": reverse("feedback:item", args=[row["tracking_number"]]),
            }
        )
    return found


class FeedbackHistoryHook(ReaderHook):
    def history_data(self, *, viewer, spec: str, entries: Sequence) -> Mapping[str, list[dict]]:
        return behind_changes(viewer=viewer, spec=spec, entries=entries)

    def history_extras(
        self, *, request: HttpRequest, spec: str, entries: Sequence
    ) -> Mapping[str, str]:
        found = behind_changes(viewer=request.user, spec=spec, entries=entries)
        return {
            label: format_html(
                '<div class="history-feedback"><h3>{}</h3><ul>{}</ul></div>',
                gettext("Feedback behind this change"),
                format_html_join(
                    "",
                    '<li><a href="{}">{}</a> {} <span class="state">({})</span>{}</li>',
                    (
                        (
                            item["url"],
                            item["tracking_number"],
                            item["summary"],
                            State(item["state"]).label,
                            format_html(
                                '<br><span class="rationale">{} {}</span>',
                                gettext("Decision:"),
                                item["rationale"],
                            )
                            if item["rationale"]
                            else "",
                        )
                        for item in items
                    ),
                ),
            )
            for label, items in found.items()
        }
