"""Notifications through the outbox (modelspec_site.outbox): the row that says "tell X about
event E" is written in the same transaction as E, and a Celery task delivers it once.

- `receipt_queue`: the submission receipt (from `feedback_submit`).
- `notify`: what a workflow event causes (from `feedback.transitions`); who hears what is in
  `feedback.messaging`.
- `digest_send` and `reminders_send`: the reviewers' daily digest and the reminders about
  items waiting past `settings.FEEDBACK_AGEING_DAYS` (Celery beat, `feedback.tasks`).
- Following and unsubscribing: `follow`, `unfollow`, `unsubscribe_record`,
  `submitter_mail_set`.

The private follow token never goes into a message: outbox rows are stored in clear, and the
token is shown once, on the receipt page, with only its hash kept."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language

from modelspec_site.accounts.roles import REVIEWER, TRIAGER
from modelspec_site.audit.models import Event
from modelspec_site.audit.services import audit_record
from modelspec_site.outbox.services import normalize_recipient

from . import messaging
from .messaging import (  # noqa: F401  (re-exported: callers and tests import them from here)
    ALL,
    AUTOMATIC_HEADERS,
    DEFAULT_SITE_URL,
    DIGEST,
    RECEIPT_KIND,
    Recipient,
    item_public_url,
    message_queue,
    staff_recipient,
    unsubscribed_scopes,
)
from .models import Decision, FeedbackItem, State, Subscription, Unsubscribe, Visibility
from .transitions import subscription_add, subscription_remove

logger = logging.getLogger(__name__)

DIGEST_KIND = "feedback.digest"
REMINDER_KIND = "feedback.reminder"
DIGEST_ACTION = "notifications.digest_sent"
REMINDER_ACTION = "notifications.reminders_sent"
# At most this many items are listed per section of a digest or reminder; the rest are counted.
LIST_MAX = 50
# Items that wait for staff (an item waiting in needs_info waits for its submitter).
REMINDER_STATES = (State.RECEIVED, State.TRIAGED, State.IN_REVIEW)
# Transaction-level advisory locks: two beat runs (or a run and a manual one) never overlap.
DIGEST_LOCK_KEY = 0x6E6F_7469_6664_6967  # "notifdig"
REMINDER_LOCK_KEY = 0x6E6F_7469_6672_656D  # "notifrem"


def receipt_recipient(item: FeedbackItem) -> str:
    """Where the receipt goes: the account's address, else the e-mail given with the item."""
    if item.submitter_id is not None and item.submitter.email:
        return item.submitter.email
    return item.submitter_email


def receipt_queue(*, item: FeedbackItem, event) -> None:
    """Queue the submission receipt for an item's submitter (account or private e-mail).

    Runs inside `feedback_submit`'s transaction; nothing is queued when there is no address
    (or it unsubscribed from all mail). The bodies are rendered now, in the submitter's
    language, and stored with the message; later messages to this address use that language."""
    address = receipt_recipient(item)
    if not address:
        return
    try:
        address = normalize_recipient(address)
    except ValueError:
        # The edge validates addresses; if one slips through, the feedback still counts.
        logger.warning("feedback: no receipt for %s, its address is invalid", item.tracking_number)
        return
    if ALL in unsubscribed_scopes([address]).get(address, set()):
        return
    recipient = Recipient(
        address=address,
        scope=f"item:{item.pk}",
        reason="submitter",
        blocked_by=frozenset(),
        anonymous=item.submitter_id is None,
        language=get_language() or settings.LANGUAGE_CODE,
    )
    message_queue(
        event=event,
        recipient=recipient,
        kind=RECEIPT_KIND,
        template="feedback_receipt",
        context={
            "tracking_number": item.tracking_number,
            # Anonymous addresses are unverified: echoing the submitter's own words to any
            # address would make the site a relay for arbitrary text. Accounts get the summary.
            "summary": item.summary if item.submitter_id else "",
            "item_url": item_public_url(item),
            "internal": not item.is_public,
        },
    )


def notify(kind: str, *, item: FeedbackItem, event, **context) -> None:
    """Queue the messages an event on `item` causes (inside the event's transaction).

    `kind` is "transition" (context: action, note), "public_reply" (note), "assigned"
    (assignee) or "mentioned" (note, users)."""
    messaging.queue_for(kind, item=item, event=event, **context)


# --- Following and unsubscribing -------------------------------------------------------------


def _scope_of(*, item=None, clause=None, spec=None) -> str:
    if item is not None:
        return f"item:{item.pk}"
    if clause is not None:
        return f"clause:{clause.pk}"
    return f"spec:{spec.pk}"


def follow(*, user, item=None, clause=None, spec=None) -> Subscription:
    """An account follows an item, a clause or a spec (idempotent). Following again after
    unsubscribing from that stream by e-mail turns it back on."""
    subscription = subscription_add(item=item, clause=clause, spec=spec, user=user)
    if user.email:
        try:
            address = normalize_recipient(user.email)
        except ValueError:
            return subscription
        scope = _scope_of(item=item, clause=clause, spec=spec)
        Unsubscribe.objects.filter(email=address, scope=scope).delete()
    return subscription


def unfollow(*, user, item=None, clause=None, spec=None) -> bool:
    """An account stops following; True when it was following."""
    return subscription_remove(item=item, clause=clause, spec=spec, user=user) > 0


def is_following(user, *, item=None, clause=None, spec=None) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return Subscription.objects.filter(user=user, item=item, clause=clause, spec=spec).exists()


def unsubscribe_record(*, address: str, scope: str) -> bool:
    """Stop the stream `scope` for `address` (idempotent); True when newly recorded. An
    e-mail follower of the same target is removed too."""
    if not messaging.scope_valid(scope):
        raise ValueError(f"not an unsubscribe scope: {scope!r}")
    address = normalize_recipient(address)
    with transaction.atomic():
        _, created = Unsubscribe.objects.get_or_create(email=address, scope=scope)
        kind, _, target = scope.partition(":")
        if kind in ("item", "clause", "spec"):
            Subscription.objects.filter(user__isnull=True, email__iexact=address).filter(
                **{f"{kind}_id": int(target)}
            ).delete()
    return created


def is_unsubscribed(*, address: str, scope: str) -> bool:
    return Unsubscribe.objects.filter(email=address, scope=scope).exists()


def submitter_mail_on(item: FeedbackItem) -> bool:
    """Whether the item's private address still gets messages about it."""
    try:
        address = normalize_recipient(item.submitter_email)
    except ValueError:
        return False
    stopped = unsubscribed_scopes([address]).get(address, set())
    return not (stopped & {f"item:{item.pk}", ALL})


def submitter_mail_set(*, item: FeedbackItem, on: bool) -> bool:
    """The anonymous submitter (through their private link) stops or resumes messages about
    their item to the address they gave. False when the item has no address."""
    try:
        address = normalize_recipient(item.submitter_email)
    except ValueError:
        return False
    scope = f"item:{item.pk}"
    if on:
        Unsubscribe.objects.filter(email=address, scope=scope).delete()
    else:
        unsubscribe_record(address=address, scope=scope)
    return True


# --- Digest and reminders (Celery beat) ------------------------------------------------------


def _lock(key: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def users_with_role(role: str):
    """Active accounts holding `role` (superusers hold every role), with an address."""
    return (
        get_user_model()
        .objects.filter(Q(groups__name=role) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def _listed(items: list) -> dict:
    return {"items": items[:LIST_MAX], "more": max(len(items) - LIST_MAX, 0), "count": len(items)}


def _item_row(item: FeedbackItem) -> dict:
    return {
        "tracking_number": item.tracking_number,
        "summary": item.summary,
        "state_label": item.get_state_display(),
        "internal": item.visibility == Visibility.INTERNAL,
        "url": item_public_url(item),
    }


def digest_send(*, now: datetime | None = None) -> int:
    """The reviewers' daily digest: items in review still waiting for their position, items
    assigned to them, and how many items arrived in the last day. One message per reviewer
    per day (a second run the same day sends nothing), none to a reviewer with nothing to
    read. Returns how many were queued."""
    now = now or timezone.now()
    day = timezone.localdate(now).isoformat()
    with transaction.atomic():
        _lock(DIGEST_LOCK_KEY)
        if Event.objects.filter(action=DIGEST_ACTION, data__day=day).exists():
            return 0
        reviewers = list(users_with_role(REVIEWER))
        if not reviewers:
            return 0
        fields = ("tracking_number", "summary", "state", "visibility", "review_round")
        in_review = list(
            FeedbackItem.objects.filter(state=State.IN_REVIEW).only(*fields).order_by("pk")
        )
        taken = set(
            Decision.objects.filter(
                item__state=State.IN_REVIEW, review_round=F("item__review_round")
            ).values_list("item_id", "reviewer_id")
        )
        assigned: dict[int, list] = defaultdict(list)
        active = [State.RECEIVED, State.TRIAGED, State.IN_REVIEW, State.NEEDS_INFO]
        for item in (
            FeedbackItem.objects.filter(assignee__in=reviewers, state__in=active)
            .only(*fields, "assignee_id")
            .order_by("pk")
        ):
            assigned[item.assignee_id].append(_item_row(item))
        new = FeedbackItem.objects.filter(
            created_at__gt=now - timedelta(days=1), created_at__lte=now
        )
        new_count = new.count()
        untriaged = FeedbackItem.objects.filter(state=State.RECEIVED).count()

        plans = []
        for reviewer in reviewers:
            recipient = staff_recipient(reviewer, scope=DIGEST)
            if recipient is None:  # no address, or unsubscribed from digests or from all
                continue
            waiting = [_item_row(i) for i in in_review if (i.pk, reviewer.pk) not in taken]
            mine = assigned.get(reviewer.pk, [])
            if not (waiting or mine or new_count):
                continue
            plans.append((recipient, reviewer, waiting, mine))
        if not plans:
            return 0
        event = audit_record(
            actor="system",
            action=DIGEST_ACTION,
            visibility=Visibility.INTERNAL,
            data={"day": day, "recipients": len(plans)},
        )
        for recipient, reviewer, waiting, mine in plans:
            message_queue(
                event=event,
                recipient=recipient,
                kind=DIGEST_KIND,
                template="digest",
                context={
                    "day": day,
                    "name": reviewer.get_username(),
                    "waiting": _listed(waiting),
                    "assigned": _listed(mine),
                    "new_count": new_count,
                    "untriaged": untriaged,
                },
            )
    return len(plans)


def _reminded_at(now: datetime, period: timedelta) -> dict[str, datetime]:
    """{tracking number: when the latest reminder run named it}, for runs of the last period."""
    out: dict[str, datetime] = {}
    events = Event.objects.filter(
        action=REMINDER_ACTION, created_at__gte=min(now, timezone.now()) - period
    ).values_list("data", flat=True)
    for data in events:
        try:
            at = datetime.fromisoformat(data["at"])
        except (KeyError, TypeError, ValueError):
            continue
        for number in data.get("items", []):
            if number not in out or out[number] < at:
                out[number] = at
    return out


def reminders_send(*, now: datetime | None = None) -> int:
    """Remind staff of items waiting in one state for longer than FEEDBACK_AGEING_DAYS: the
    assignee, or every triager when nobody is assigned (or the assignee cannot be written to).
    One message per recipient per run listing their items; each item at most once per ageing
    period (again a period later if it still waits). Returns how many messages were queued."""
    now = now or timezone.now()
    period = timedelta(days=settings.FEEDBACK_AGEING_DAYS)
    with transaction.atomic():
        _lock(REMINDER_LOCK_KEY)
        reminded = _reminded_at(now, period)
        aged = list(
            FeedbackItem.objects.annotate(since=Coalesce("state_changed_at", "created_at"))
            .filter(state__in=REMINDER_STATES, since__lte=now - period)
            .select_related("assignee")
            .only(
                "tracking_number", "summary", "state", "visibility", "created_at",
                "state_changed_at", "assignee",
            )
            .order_by("since", "pk")
        )  # fmt: skip
        due = [
            item
            for item in aged
            if reminded.get(item.tracking_number, now - period) <= now - period
        ]
        if not due:
            return 0
        triagers = None
        by_address: dict[str, tuple[Recipient, list]] = {}
        for item in due:
            recipient = staff_recipient(item.assignee, scope=DIGEST) if item.assignee else None
            if recipient is not None:
                targets = [recipient]
            else:
                if triagers is None:
                    triagers = [
                        r
                        for r in (
                            staff_recipient(u, scope=DIGEST) for u in users_with_role(TRIAGER)
                        )
                        if r is not None
                    ]
                targets = triagers
            row = {**_item_row(item), "waiting_days": (now - item.since).days,
                   "assigned": recipient is not None}  # fmt: skip
            for target in targets:
                by_address.setdefault(target.address, (target, []))[1].append(row)
        if not by_address:
            return 0
        event = audit_record(
            actor="system",
            action=REMINDER_ACTION,
            visibility=Visibility.INTERNAL,
            data={
                "at": now.isoformat(),
                "items": [item.tracking_number for item in due],
                "recipients": len(by_address),
            },
        )
        for recipient, rows in by_address.values():
            message_queue(
                event=event,
                recipient=recipient,
                kind=REMINDER_KIND,
                template="reminder",
                context={"ageing_days": settings.FEEDBACK_AGEING_DAYS, "listed": _listed(rows)},
            )
    return len(by_address)
