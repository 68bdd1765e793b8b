"""Services that change feedback. Each runs in one transaction, records its ledger event in that
transaction, and queues side effects (receipts) through the outbox in that same transaction.

Forms and serializers validate shapes and sizes at the edge; these services enforce the rules
that need the database: the comment period, that a quoted passage is really in the clause, who
may file internal items, one endorsement per person."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from modelspec_site.accounts.roles import MODERATOR, has_role, is_staff_member
from modelspec_site.audit.services import audit_record
from revisions import pagecache
from revisions.models import ClauseText, Example, Version

from . import anchoring
from .errors import (
    AlreadyEndorsed,
    CommentPeriodClosed,
    FeedbackError,
    NotAllowed,
    QuoteMismatch,
    TargetNotFound,
)
from .models import Endorsement, FeedbackItem, Kind, Report, Severity, Visibility

LIMITS = {
    "summary": 200,
    "body": 20_000,
    "suggested_text": 20_000,
    "quote_exact": 5_000,
    "affiliation": 200,
    "conflict_of_interest": 2_000,
    "submitter_name": 100,
    "example_turns": 40,
    "example_turn_chars": 10_000,
}


@dataclass(frozen=True)
class Quote:
    exact: str
    prefix: str = ""
    suffix: str = ""
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Submission:
    """What someone files. Shapes and sizes are checked at the edge (forms, serializers)."""

    version: Version
    clause_id: str
    kind: str
    summary: str
    body: str = ""
    example_slug: str | None = None
    quote: Quote | None = None
    suggested_text: str = ""
    example_conversation: list = field(default_factory=list)
    severity: str = Severity.MEDIUM
    affiliation: str = ""
    conflict_of_interest: str = ""
    visibility: str = Visibility.PUBLIC
    submitter_name: str = ""
    submitter_email: str = ""


@dataclass(frozen=True)
class SubmitResult:
    item: FeedbackItem
    follow_token: str  # shown once to the submitter; only its hash is stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def comment_period_open(version: Version, *, now=None) -> bool:
    """Published versions take comments within their period (open-ended by default)."""
    now = now or timezone.now()
    if version.state != Version.State.PUBLISHED:
        return False
    if version.comment_opens_at and now < version.comment_opens_at:
        return False
    return not (version.comment_closes_at and now >= version.comment_closes_at)


def _next_tracking_number(prefix: str, year: int) -> str:
    """The next number of (prefix, year), from its PostgreSQL sequence (migration 0010): unique
    and increasing, without holding a lock until the caller commits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT feedback_tracking_next(%s, %s)", [prefix, year])
        (number,) = cursor.fetchone()
    return f"{prefix}-{year}-{number:05d}"


def submitted_event_data(
    *, tracking_number: str, kind: str, clause: str, example: str | None, has_passage: bool
) -> dict:
    """The data of a `feedback.submitted` ledger event, whichever path files the item."""
    return {
        "tracking_number": tracking_number,
        "kind": kind,
        "clause": clause,
        "example": example,
        "has_passage": has_passage,
    }


def feedback_submit(*, acting_user, submission: Submission) -> SubmitResult:
    """File a feedback item and return it with its private follow token.

    Raises CommentPeriodClosed (public items outside the version's period), NotAllowed
    (internal items from non-staff), TargetNotFound (clause or example not in the version),
    QuoteMismatch (the quoted passage is not in the clause text)."""
    s = submission
    staff = is_staff_member(acting_user)
    if s.visibility == Visibility.INTERNAL and not staff:
        raise NotAllowed("Only staff can file internal feedback.", field="visibility")
    if s.visibility == Visibility.PUBLIC and not comment_period_open(s.version):
        raise CommentPeriodClosed("This version is not open for public comments.", field="version")
    if s.kind not in Kind.values:
        raise TargetNotFound(f"Unknown kind '{s.kind}'.", field="kind")

    clause_text = (
        ClauseText.objects.filter(version=s.version, anchor=s.clause_id)
        .only("pk", "clause_id", "plain_text", "version_id", "anchor", "number", "heading")
        .first()
    )
    if clause_text is None:
        raise TargetNotFound("There is no such clause in this version.", field="clause")
    example = None
    if s.example_slug:
        example = Example.objects.filter(clause_text=clause_text, slug=s.example_slug).first()
        if example is None:
            raise TargetNotFound("There is no such example in this clause.", field="example")
    passage = None
    if s.quote and s.quote.exact.strip():
        passage = anchoring.passage_locate(
            clause_text.plain_text,
            exact=s.quote.exact,
            prefix=s.quote.prefix,
            suffix=s.quote.suffix,
            start=s.quote.start,
        )
        if passage is None:
            raise QuoteMismatch(
                "The quoted passage is not in this clause's text. Select it again.",
                field="quote",
            )

    token = secrets.token_urlsafe(32)
    user = acting_user if getattr(acting_user, "is_authenticated", False) else None
    with transaction.atomic():
        now = timezone.now()
        item = FeedbackItem.objects.create(
            # Internal items count on their own series (MSI-…), so gaps in the public series
            # never reveal that internal items exist.
            tracking_number=_next_tracking_number(
                s.version.spec.tracking_prefix
                + ("I" if s.visibility == Visibility.INTERNAL else ""),
                now.year,
            ),
            spec_id=s.version.spec_id,
            version=s.version,
            clause_id=clause_text.clause_id,
            clause_text=clause_text,
            example=example,
            quote_exact=passage.exact if passage else "",
            quote_prefix=passage.prefix if passage else "",
            quote_suffix=passage.suffix if passage else "",
            position_start=passage.start if passage else None,
            position_end=passage.end if passage else None,
            kind=s.kind,
            severity=s.severity,
            summary=s.summary.strip(),
            body=s.body.strip(),
            suggested_text=s.suggested_text.strip(),
            example_conversation=s.example_conversation,
            affiliation=s.affiliation.strip(),
            conflict_of_interest=s.conflict_of_interest.strip(),
            visibility=s.visibility,
            submitter=user,
            submitter_name=s.submitter_name.strip(),
            submitter_email=s.submitter_email.strip(),
            follow_token_hash=token_hash(token),
        )
        event = audit_record(
            actor=user or "anonymous",
            action="feedback.submitted",
            subjects=[item, s.version, clause_text],
            visibility=s.visibility,
            data=submitted_event_data(
                tracking_number=item.tracking_number,
                kind=item.kind,
                clause=clause_text.anchor,
                example=example.slug if example else None,
                has_passage=passage is not None,
            ),
        )
        _queue_receipt(item, event)
        if item.is_public:
            pagecache.bump()  # the reader's counts change for everyone
    return SubmitResult(item=item, follow_token=token)


def _queue_receipt(item: FeedbackItem, event) -> None:
    """Hook for the outbox (receipts by e-mail); see feedback.notifications."""
    from .notifications import receipt_queue

    receipt_queue(item=item, event=event)


def feedback_endorse(*, acting_user, item: FeedbackItem, anonymous_key: str = "") -> FeedbackItem:
    """A "me too": once per account, or once per anonymous browser key."""
    user = acting_user if getattr(acting_user, "is_authenticated", False) else None
    if user is None and not anonymous_key:
        raise NotAllowed("Endorsing needs an account or a browser cookie.")
    try:
        with transaction.atomic():
            item = FeedbackItem.objects.select_for_update().get(pk=item.pk)
            Endorsement.objects.create(
                item=item,
                user=user,
                anonymous_key_hash="" if user else token_hash(anonymous_key),
            )
            FeedbackItem.objects.filter(pk=item.pk).update(
                endorsement_count=F("endorsement_count") + 1
            )
            item.endorsement_count += 1
            audit_record(
                actor=user or "anonymous",
                action="feedback.endorsed",
                subjects=[item],
                visibility=item.visibility,
                data={"tracking_number": item.tracking_number, "count": item.endorsement_count},
            )
    except IntegrityError:
        raise AlreadyEndorsed("You have already endorsed this item.") from None
    return item


def feedback_report(*, acting_user, item: FeedbackItem, reason: str) -> Report:
    """Anyone may flag an item for the moderators."""
    user = acting_user if getattr(acting_user, "is_authenticated", False) else None
    with transaction.atomic():
        report = Report.objects.create(item=item, reason=reason.strip()[:500], reporter=user)
        FeedbackItem.objects.filter(pk=item.pk).update(report_count=F("report_count") + 1)
        audit_record(
            actor=user or "anonymous",
            action="feedback.reported",
            subjects=[item],
            visibility="internal",
            data={"tracking_number": item.tracking_number, "reason": report.reason},
        )
    return report


def feedback_hide(*, acting_user, item: FeedbackItem, reason: str) -> FeedbackItem:
    """Moderation: the item's content is withdrawn from public view, with a public reason.
    Nothing is deleted: moderators and auditors still see it."""
    if not has_role(acting_user, MODERATOR):
        raise NotAllowed("Only moderators hide feedback.")
    if not reason.strip():
        raise FeedbackError("Give the reason that will be shown publicly.", field="reason")
    with transaction.atomic():
        item = FeedbackItem.objects.select_for_update().get(pk=item.pk)
        pagecache.bump()
        item.hidden, item.hidden_reason, item.hidden_at = True, reason.strip(), timezone.now()
        item.save(update_fields=["hidden", "hidden_reason", "hidden_at", "updated_at"])
        audit_record(
            actor=acting_user,
            action="feedback.hidden",
            subjects=[item],
            visibility=item.visibility,
            data={"tracking_number": item.tracking_number, "reason": item.hidden_reason},
        )
    return item


def feedback_unhide(*, acting_user, item: FeedbackItem) -> FeedbackItem:
    if not has_role(acting_user, MODERATOR):
        raise NotAllowed("Only moderators restore feedback.")
    with transaction.atomic():
        item = FeedbackItem.objects.select_for_update().get(pk=item.pk)
        pagecache.bump()
        item.hidden, item.hidden_reason, item.hidden_at = False, "", None
        item.save(update_fields=["hidden", "hidden_reason", "hidden_at", "updated_at"])
        audit_record(
            actor=acting_user,
            action="feedback.restored",
            subjects=[item],
            visibility=item.visibility,
            data={"tracking_number": item.tracking_number},
        )
    return item
