"""Atom feeds of feedback: the public decisions, and the feedback on one clause.

Public only, whoever reads them: items come from `opendata.public_items()` (the public view of
`feedback_visible_to`, items hidden by a moderator left out), decisions from
`opendata.public_decisions()`. Titles are plain text; summaries are HTML-escaped (Atom readers
render `<summary type="html">`), so nothing anyone wrote is interpreted as markup."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from revisions import selectors as revisions_selectors
from revisions.feeds import html_summary, xml_text
from revisions.models import ClauseText

from .models import FeedbackItem, State, Transition
from .opendata import public_decisions, public_items

FEED_LENGTH = 50


def _state_label(state: str) -> str:
    return str(dict(State.choices).get(state, state))


class DecisionsFeed(Feed):
    feed_type = Atom1Feed

    def title(self) -> str:
        return _("Decisions on feedback")

    def subtitle(self) -> str:
        return _("Every published decision on public feedback, with its public rationale.")

    def link(self) -> str:
        return reverse("feedback:tracker")

    def feed_url(self) -> str:
        return reverse("feedback:decisions-feed")

    def items(self):
        return list(
            public_decisions()
            .select_related("item")
            .only(
                "id", "to_state", "rationale", "created_at", "item__tracking_number",
                "item__summary",
            )
            .order_by("-created_at", "-id")[:FEED_LENGTH]
        )  # fmt: skip

    def item_title(self, move: Transition) -> str:
        return xml_text(
            f"{move.item.tracking_number} {_state_label(move.to_state)}: {move.item.summary}"
        )

    def item_description(self, move: Transition) -> str:
        return html_summary(move.rationale or _state_label(move.to_state))

    def item_link(self, move: Transition) -> str:
        return reverse("feedback:item", args=[move.item.tracking_number])

    def item_guid(self, move: Transition) -> str:
        # Not a row id: those count internal items' moves too.
        return f"{self.item_link(move)}#{move.to_state}-{move.created_at.timestamp():.6f}"

    item_guid_is_permalink = False

    def item_pubdate(self, move: Transition):
        return move.created_at

    def item_updateddate(self, move: Transition):
        return move.created_at


class ClauseFeedbackFeed(Feed):
    """Feedback on one clause, in every public version it appears in (found by its id in the
    newest public version that has it, like the clause's permanent link)."""

    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, spec: str, clause_id: str) -> ClauseText:
        return revisions_selectors.clause_latest(
            viewer=AnonymousUser(), spec_slug=spec, anchor=clause_id
        )

    def title(self, text: ClauseText) -> str:
        return xml_text(
            _("Feedback on %(number)s %(heading)s")
            % {"number": text.number, "heading": text.heading}
        )

    def subtitle(self, text: ClauseText) -> str:
        return xml_text(
            _("Public feedback on this clause of %(title)s, in every version.")
            % {"title": text.version.spec.title}
        )

    def link(self, text: ClauseText) -> str:
        return reverse(
            "revisions:clause-latest",
            kwargs={"spec": text.version.spec.slug, "clause_id": text.anchor},
        )

    def feed_url(self, text: ClauseText) -> str:
        return reverse(
            "feedback:clause-feed",
            kwargs={"spec": text.version.spec.slug, "clause_id": text.anchor},
        )

    def items(self, text: ClauseText):
        return list(
            public_items()
            .filter(clause_id=text.clause_id)
            .select_related("version")
            .only("id", "tracking_number", "summary", "body", "kind", "state", "created_at",
                  "version__label")
            .order_by("-created_at", "-tracking_number")[:FEED_LENGTH]
        )  # fmt: skip

    def item_title(self, item: FeedbackItem) -> str:
        return xml_text(f"{item.tracking_number}: {item.summary}")

    def item_description(self, item: FeedbackItem) -> str:
        facts = _("%(kind)s, %(state)s, on version %(version)s.") % {
            "kind": item.get_kind_display(),
            "state": item.get_state_display(),
            "version": item.version.label,
        }
        return html_summary(f"{facts}\n\n{item.body}" if item.body else facts)

    def item_link(self, item: FeedbackItem) -> str:
        return reverse("feedback:item", args=[item.tracking_number])

    def item_pubdate(self, item: FeedbackItem):
        return item.created_at
