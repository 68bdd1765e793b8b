"""Carried-forward feedback, for the canary crawl: the submitter's answer pages (signed link
from the e-mail, private follow link, account). Planted: a carry-forward of the internal item
(so a valid answer link for it exists) and of a public one; the pages must be 404 for the
internal item and for forged or foreign tokens, and never show internal words."""

from __future__ import annotations

from feedback.messaging import answer_token
from feedback.models import AnchorOutcome, Reanchoring
from revisions.models import Version
from tests.leaks_support import Way

ROUTES = {
    "feedback/<feedback_tracking:tracking_number>/carried/": Way(),
    "feedback/<feedback_tracking:tracking_number>/carried/<str:signed>/": Way(),
    "feedback/<feedback_tracking:tracking_number>/follow/<str:token>/carried/": Way(),
}


def plant(w, *, make_user) -> None:
    for name in ("internal-1", "public-1"):
        item = w.items[name]
        Reanchoring.objects.get_or_create(
            item=item,
            version=item.version,
            defaults={
                "from_text": item.clause_text,
                "to_text": item.clause_text,
                "outcome": AnchorOutcome.ANCHORED,
                "confidence": 100,
                "quote_exact": item.quote_exact,
            },
        )


def values(w) -> dict[str, list[str]]:
    internal = w.items["internal-1"]
    version = Version.objects.get(pk=internal.version_id)
    return {
        "signed": [
            answer_token(item_id=internal.pk, version_id=version.pk),
            "1.1:forged-signature",
        ]
    }


def missing(w) -> dict[str, list[str]]:
    return {}
