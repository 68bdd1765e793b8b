"""A submitter's request to reopen a closed item, and reviewers dismissing it.

After a version is published, the submitter of a carried item answers whether the new text
resolves their concern (`carry.carried_answer`). A "no" on a closed item asks reviewers to
reopen it. They may reopen it (the workflow's `reopen`), or dismiss the request: "we read it,
and the item stays closed". A dismissal is kept on the `Reanchoring` rows it answers
(`dismissed_at`, `dismissed_by`, `dismiss_reason`) and recorded in the ledger as an internal
event; the reason is for staff only.

A request *stands* while the item is closed and one of its "no" answers was not dismissed
since it was given: a submitter who answers again after a dismissal (the answer page lets them
change their answer) asks again. Dismissing answers every standing "no" of the item at once,
so "the latest no was dismissed" and "no standing no" say the same thing."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from modelspec_site.audit.models import Visibility as EventVisibility
from modelspec_site.audit.services import audit_record

from . import workflow
from .errors import FeedbackError, NotAllowed
from .models import FeedbackItem, Reanchoring

DISMISSED_ACTION = "feedback.reopen_request_dismissed"
REASON_MAX = 2_000


class NoReopenRequest(FeedbackError):
    """Nothing to dismiss: no "no" answer stands on a closed item (never asked, already
    dismissed, or the item is open)."""

    code = "no_reopen_request"
    status = 409


def _standing() -> Q:
    """A "no" answer not dismissed since it was given."""
    return Q(response=Reanchoring.Response.NO) & (
        Q(dismissed_at__isnull=True) | Q(dismissed_at__lt=F("responded_at"))
    )


def reopen_requested() -> Exists:
    """For a queryset of items: a "no" answer stands on it (the caller adds "closed")."""
    return Exists(Reanchoring.objects.filter(_standing(), item_id=OuterRef("pk")))


def may_dismiss(user) -> bool:
    """Whoever may reopen items may dismiss a request to reopen one: the same actors as the
    workflow's `reopen` (reviewers and editors). The item's state is checked separately: an
    incorporated item has no `reopen` in the table, and its request can still be dismissed."""
    return bool(workflow.ACTIONS["reopen"].actors & workflow.actors_of(user))


@dataclass(frozen=True)
class ReopenRequest:
    """What the staff item page says about the request: the latest "no" answer, whether it
    stands (the item closed, the answer not dismissed since), and the dismissal, if any."""

    answer: Reanchoring  # the latest "no" (version, dismissed_by loaded)
    standing: bool
    closed: bool

    @property
    def dismissed(self) -> bool:
        return self.answer.dismissed_at is not None and not self._answered_since

    @property
    def dismissed_earlier(self) -> bool:
        """Dismissed once, then the submitter answered "no" again."""
        return self.answer.dismissed_at is not None and self._answered_since

    @property
    def _answered_since(self) -> bool:
        answer = self.answer
        return bool(answer.responded_at and answer.responded_at > answer.dismissed_at)


def reopen_request_get(item: FeedbackItem) -> ReopenRequest | None:
    """The request on `item` as the staff page shows it; None when no "no" was ever given."""
    answer = (
        Reanchoring.objects.filter(item_id=item.pk, response=Reanchoring.Response.NO)
        .select_related("version", "dismissed_by")
        .order_by(F("responded_at").desc(nulls_last=True), "-created_at", "-id")
        .first()
    )
    if answer is None:
        return None
    closed = workflow.is_closed(item.state)
    live = answer.dismissed_at is None or bool(
        answer.responded_at and answer.responded_at > answer.dismissed_at
    )
    return ReopenRequest(answer=answer, standing=closed and live, closed=closed)


def reopen_request_dismiss(*, acting_user, item: FeedbackItem, reason: str) -> Reanchoring:
    """Dismiss the submitter's request to reopen `item`: it stays closed and leaves the queue's
    "Reopening requested" view. Only reviewers and editors (those who may reopen); a reason for
    the staff is required. Raises NotAllowed, FeedbackError (the reason) or NoReopenRequest
    (nothing stands: never asked, already dismissed, or the item is open). Returns the latest
    "no" answer, now dismissed. The item can still be reopened later."""
    if not may_dismiss(acting_user):
        raise NotAllowed(_("Only reviewers and editors dismiss a request to reopen."))
    reason = (reason or "").strip()
    if not reason:
        raise FeedbackError(_("Say why the item stays closed."), field="reason")
    if len(reason) > REASON_MAX:
        raise FeedbackError(
            _("Keep the reason under %(max)d characters.") % {"max": REASON_MAX}, field="reason"
        )
    with transaction.atomic():
        # The item's row first, as every workflow service does: two reviewers dismissing at
        # once, or one reopening while another dismisses, take turns here.
        item = FeedbackItem.objects.select_for_update().get(pk=item.pk)
        if not workflow.is_closed(item.state):
            raise NoReopenRequest(
                _("The item is “%(state)s”, not closed: there is no request to reopen it.")
                % {"state": item.get_state_display()}
            )
        answers = list(
            Reanchoring.objects.select_for_update(of=("self",))
            .select_related("version")
            .filter(_standing(), item_id=item.pk)
            .order_by(F("responded_at").desc(nulls_last=True), "-created_at", "-id")
        )
        if not answers:
            raise NoReopenRequest(
                _("No request to reopen this item is waiting: it was dismissed, or never made.")
            )
        now = timezone.now()
        user = acting_user if getattr(acting_user, "is_authenticated", False) else None
        Reanchoring.objects.filter(pk__in=[a.pk for a in answers]).update(
            dismissed_at=now, dismissed_by=user, dismiss_reason=reason
        )
        latest = answers[0]
        audit_record(
            actor=acting_user,
            action=DISMISSED_ACTION,
            subjects=[item],
            visibility=EventVisibility.INTERNAL,
            data={
                "tracking_number": item.tracking_number,
                "version": latest.version.label,
                "reason": reason,
                **(
                    {"earlier_versions": [a.version.label for a in answers[1:]]}
                    if len(answers) > 1
                    else {}
                ),
            },
        )
    latest.refresh_from_db()
    return latest
