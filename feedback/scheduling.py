"""Making internal material public, on a date or with a version's release.

Staff schedule an internal feedback item, or an internal note, for publication
(`ScheduledPublication`): on a date (`publish_at`), or when a draft version is published
(`with_version`). The beat task `feedback.publish_scheduled` runs `publication_run_due` every few
minutes; the receiver of `revisions.signals.version_published` publishes what waits for that
version inside the publish transaction.

Publishing an item turns its visibility from internal to public: it then appears on every public
page, feed and API like any public item. It keeps its tracking number (`MSI-…`, the internal
series): the public learns that the item began internal, which the public ledger event says
anyway, and its number is only the count of internal items filed that year before it, a
number no finer than the withheld total of the transparency dashboard; staff links and e-mails
that name the number keep working. Its submitter's e-mail address and follow token stay private
as for every item. Publishing a note turns it from an internal note into a public reply (and it
leaves its internal thread). A note on an item that is still internal waits until its item is
public: public replies belong to public items only.

Who: reviewers and editors (publishing internal material is a disclosure decision, like a
decision's public rationale). The scheduling and a cancellation are internal ledger events; the
change of visibility is a public one (`feedback.published_from_internal`,
`feedback.note_published`) whose actor is the person who scheduled it and whose data say when
it was scheduled and what triggered it."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from modelspec_site.accounts.roles import EDITOR, REVIEWER, has_role
from modelspec_site.audit.services import audit_record
from revisions import pagecache
from revisions.models import Version

from .errors import FeedbackError, NotAllowed
from .models import FeedbackItem, Note, ScheduledPublication, Visibility

log = logging.getLogger(__name__)

SCHEDULING_ROLES = (REVIEWER, EDITOR)


class ScheduleConflict(FeedbackError):
    """The subject is already public, already scheduled, or the schedule already ran or was
    cancelled."""

    code = "schedule_conflict"
    status = 409


def may_schedule(user) -> bool:
    return has_role(user, *SCHEDULING_ROLES)


def _pending() -> QuerySet[ScheduledPublication]:
    return ScheduledPublication.objects.filter(done_at__isnull=True, cancelled_at__isnull=True)


def pending_for_item(item: FeedbackItem) -> QuerySet[ScheduledPublication]:
    """Pending schedules of the item and of its notes, soonest first."""
    return (
        _pending()
        .filter(Q(item=item) | Q(note__item=item))
        .select_related("note", "with_version", "created_by")
        .order_by("publish_at", "created_at", "id")
    )


def _subject(schedule: ScheduledPublication) -> dict:
    if schedule.item_id:
        return {"item": schedule.item_id}
    return {"note": schedule.note_id}


def _when(schedule: ScheduledPublication) -> dict:
    return {
        "publish_at": schedule.publish_at.isoformat() if schedule.publish_at else None,
        "with_version": schedule.with_version.label if schedule.with_version_id else None,
    }


def publication_schedule(
    *,
    acting_user,
    item: FeedbackItem | None = None,
    note: Note | None = None,
    publish_at: dt.datetime | None = None,
    with_version: Version | None = None,
) -> ScheduledPublication:
    """Plan to publish an internal item or an internal note: on `publish_at` (in the future),
    or when `with_version` (a draft of the item's spec) is published. Exactly one subject and
    one moment. Raises NotAllowed, FeedbackError (field named) or ScheduleConflict."""
    if not may_schedule(acting_user):
        raise NotAllowed("Only reviewers and editors schedule publications.")
    if (item is None) == (note is None):
        raise FeedbackError("Choose what to publish: the item or one note.", field="subject")
    if (publish_at is None) == (with_version is None):
        raise FeedbackError(
            "Choose either a date or a version to publish with, not both.", field="publish_at"
        )
    now = timezone.now()
    if publish_at is not None and publish_at <= now:
        raise FeedbackError("Choose a moment in the future.", field="publish_at")
    with transaction.atomic():
        owner = FeedbackItem.objects.select_for_update().get(
            pk=item.pk if item is not None else note.item_id
        )
        if note is not None:
            note = Note.objects.select_for_update().get(pk=note.pk, item=owner)
            if note.kind != Note.Kind.INTERNAL:
                raise ScheduleConflict("This note is already public.")
            pending = _pending().filter(note=note)
        else:
            if owner.visibility != Visibility.INTERNAL:
                raise ScheduleConflict("This item is already public.")
            pending = _pending().filter(item=owner)
        if pending.exists():
            raise ScheduleConflict("A publication is already scheduled. Cancel it first.")
        if with_version is not None:
            with_version = Version.objects.select_for_update().get(pk=with_version.pk)
            if with_version.spec_id != owner.spec_id:
                raise FeedbackError("Choose a version of this item's spec.", field="with_version")
            if with_version.state != Version.State.DRAFT:
                raise FeedbackError(
                    "This version is already published: choose a draft.", field="with_version"
                )
        schedule = ScheduledPublication.objects.create(
            item=owner if note is None else None,
            note=note,
            publish_at=publish_at,
            with_version=with_version,
            created_by=acting_user,
        )
        audit_record(
            actor=acting_user,
            action="feedback.publication_scheduled",
            subjects=[owner] + ([note] if note is not None else []),
            visibility=Visibility.INTERNAL,
            data={
                "schedule": schedule.pk,
                "tracking_number": owner.tracking_number,
                **_subject(schedule),
                **_when(schedule),
            },
        )
    return schedule


def publication_cancel(*, acting_user, schedule: ScheduledPublication) -> ScheduledPublication:
    """Call off a pending publication. Raises NotAllowed or ScheduleConflict."""
    if not may_schedule(acting_user):
        raise NotAllowed("Only reviewers and editors cancel scheduled publications.")
    with transaction.atomic():
        schedule = (
            ScheduledPublication.objects.select_for_update(of=("self",))
            .select_related("with_version", "item", "note__item")
            .get(pk=schedule.pk)
        )
        if schedule.done_at is not None:
            raise ScheduleConflict("This publication has already happened.")
        if schedule.cancelled_at is not None:
            raise ScheduleConflict("This publication was already cancelled.")
        schedule.cancelled_at = timezone.now()
        schedule.save(update_fields=["cancelled_at"])
        owner = schedule.item if schedule.item_id else schedule.note.item
        audit_record(
            actor=acting_user,
            action="feedback.publication_cancelled",
            subjects=[owner] + ([schedule.note] if schedule.note_id else []),
            visibility=Visibility.INTERNAL,
            data={
                "schedule": schedule.pk,
                "tracking_number": owner.tracking_number,
                **_subject(schedule),
                **_when(schedule),
            },
        )
    return schedule


# --- Publishing ----------------------------------------------------------------------------


def _event_data(schedule: ScheduledPublication, trigger: str, owner: FeedbackItem) -> dict:
    return {
        "tracking_number": owner.tracking_number,
        "scheduled_at": schedule.created_at.isoformat(),
        "trigger": trigger,  # "date" or "version"
        **_when(schedule),
    }


def _publish_item(schedule: ScheduledPublication, *, now, trigger: str) -> bool:
    item = FeedbackItem.objects.select_for_update().get(pk=schedule.item_id)
    if item.visibility == Visibility.PUBLIC:
        return False
    item.visibility = Visibility.PUBLIC
    item.save(update_fields=["visibility", "updated_at"])
    pagecache.bump()
    audit_record(
        actor=schedule.created_by or "system",
        action="feedback.published_from_internal",
        subjects=[item, item.version, item.clause_text],
        visibility=Visibility.PUBLIC,
        data=_event_data(schedule, trigger, item),
    )
    return True


def _publish_note(schedule: ScheduledPublication, *, now, trigger: str) -> bool | None:
    """True when published, False when there was nothing to do, None when it must wait for
    its item to be public."""
    from .notifications import notify

    note = Note.objects.select_for_update().select_related("item").get(pk=schedule.note_id)
    if note.kind != Note.Kind.INTERNAL:
        return False
    item = note.item
    if item.visibility != Visibility.PUBLIC:
        return None
    note.kind = Note.Kind.PUBLIC_REPLY
    note.parent = None  # leaves its internal thread
    note.save(update_fields=["kind", "parent"])
    pagecache.bump()
    event = audit_record(
        actor=schedule.created_by or "system",
        action="feedback.note_published",
        subjects=[item, note],
        visibility=Visibility.PUBLIC,
        data={**_event_data(schedule, trigger, item), "note": note.pk, "body": note.body},
    )
    notify("public_reply", item=item, event=event, note=note)
    return True


def publication_run(schedule_id: int, *, now: dt.datetime | None = None, trigger: str) -> bool:
    """Carry out one pending publication, in its own transaction (a savepoint when called
    inside one). Idempotent: a schedule already done or cancelled changes nothing. Returns True
    when something became public."""
    now = now or timezone.now()
    with transaction.atomic():
        schedule = (
            ScheduledPublication.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("with_version", "created_by")
            .filter(pk=schedule_id, done_at__isnull=True, cancelled_at__isnull=True)
            .first()
        )
        if schedule is None:
            return False
        if schedule.item_id:
            published = _publish_item(schedule, now=now, trigger=trigger)
        else:
            published = _publish_note(schedule, now=now, trigger=trigger)
            if published is None:  # its item is still internal: try again later
                return False
        schedule.done_at = now
        schedule.save(update_fields=["done_at"])
        return bool(published)


def _due(now: dt.datetime) -> list[tuple[int, str]]:
    """(schedule id, trigger) of every pending publication that should happen by `now`:
    dates passed, and versions already published (in case a release was missed). Items before
    notes, so a note published with its item finds the item public."""
    rows = (
        _pending()
        .filter(
            Q(publish_at__lte=now)
            | (Q(with_version__isnull=False) & ~Q(with_version__state=Version.State.DRAFT))
        )
        .order_by("note_id", "publish_at", "id")
        .values_list("id", "publish_at", "note_id")
    )
    ordered = sorted(rows, key=lambda row: (row[2] is not None, row[1] or now, row[0]))
    return [(pk, "date" if at is not None and at <= now else "version") for pk, at, _n in ordered]


def publication_run_due(now: dt.datetime | None = None) -> int:
    """Publish everything due by `now` (the beat task), each publication in its own
    transaction. Safe to run again or concurrently: returns how many became public."""
    now = now or timezone.now()
    count = 0
    for schedule_id, trigger in _due(now):
        try:
            count += publication_run(schedule_id, now=now, trigger=trigger)
        except Exception:  # one failure must not stop the rest; the next run retries it
            log.exception("scheduled publication %s failed", schedule_id)
    return count


def publications_for_version(*, version: Version) -> int:
    """Publish what waits for `version` (called inside its publish transaction, through the
    `version_published` signal): items first, then notes."""
    ids = list(
        _pending()
        .filter(with_version=version)
        .order_by("note_id", "id")
        .values_list("id", "note_id")
    )
    ids.sort(key=lambda row: (row[1] is not None, row[0]))
    count = 0
    for schedule_id, _note in ids:
        count += publication_run(schedule_id, trigger="version")
    return count


def on_version_published(sender, *, version, **kwargs) -> None:
    """Receiver of `revisions.signals.version_published` (connected in FeedbackConfig.ready)."""
    publications_for_version(version=version)
