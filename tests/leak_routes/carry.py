"""Carried-forward feedback, for the canary crawl: the submitter's answer pages (signed link
from the e-mail, private follow link, account). Planted: a carry-forward of the internal item
(so a valid answer link for it exists) and of a public one; the pages must be 404 for the
internal item and for forged or foreign tokens, and never show internal words.

Also the staff form that dismisses a submitter's request to reopen (POST only; the public is
sent to sign in or gets a 404), and a planted dismissal: a public, declined item whose
submitter answered "no", dismissed by a reviewer with a marked reason. The reason (and the
reviewer's name) is for staff only: no public page, list, feed or ledger view may show it."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from feedback.messaging import answer_token
from feedback.models import AnchorOutcome, Reanchoring
from feedback.reopen_requests import reopen_request_dismiss
from feedback.services import Submission, feedback_submit
from feedback.transitions import feedback_transition
from revisions.models import Version
from tests.leaks_support import Way

ROUTES = {
    "feedback/<feedback_tracking:tracking_number>/carried/": Way(),
    "feedback/<feedback_tracking:tracking_number>/carried/<str:signed>/": Way(),
    "feedback/<feedback_tracking:tracking_number>/follow/<str:token>/carried/": Way(),
    # Staff only, POST only.
    "staff/items/<feedback_tracking:tracking_number>/reopen-request/dismiss/": Way(),
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
    _plant_dismissed_request(w, make_user=make_user)


def _plant_dismissed_request(w, *, make_user) -> None:
    triager = w.staff[0]
    reviewer = make_user(f"dismisser{uuid.uuid4().hex[:10]}", roles=["reviewer"], is_staff=True)
    w.secrets[reviewer.username] = "dismissing reviewer's username"
    w.secrets[reviewer.email] = "staff e-mail"
    latest = Version.objects.get(spec__slug="model-spec", state=Version.State.PUBLISHED)
    submission = Submission(version=latest, clause_id="letter_and_spirit", kind="disagree",
                            summary="Carried item, reopening refused")  # fmt: skip
    item = feedback_submit(acting_user=AnonymousUser(), submission=submission).item
    item = feedback_transition(acting_user=triager, item=item, action="decline",
                               rationale="Out of scope for this version.")  # fmt: skip
    Reanchoring.objects.create(
        item=item,
        version=item.version,
        from_text=item.clause_text,
        to_text=item.clause_text,
        outcome=AnchorOutcome.ANCHORED,
        confidence=100,
        response=Reanchoring.Response.NO,
        responded_at=timezone.now(),
    )
    reopen_request_dismiss(acting_user=reviewer, item=item,
                           reason=f"Stays closed: {w.mark('reopen request dismissal reason')}")  # fmt: skip
    w.items["reopen-dismissed"] = item


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
