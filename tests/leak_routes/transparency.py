"""The transparency dashboard (public) and the staff forms that schedule internal material for
publication (sign-in for the public; POST only but the panel's page).

Planted: an internal item (markers in its text, its number a secret) and an internal note on a
public item (a marker), each scheduled for publication a year from now by a reviewer whose name
is a secret: until then nothing of them may show, the dashboard included (which counts the
item in its one withheld total only)."""

import datetime as dt

from django.utils import timezone

from feedback.models import Visibility
from feedback.scheduling import publication_schedule
from feedback.services import Submission, feedback_submit
from feedback.transitions import note_add
from revisions.models import Version

from ..leaks_support import Way


def _dashboard_queries(w) -> list[str]:
    return ["", "?version=2025-04-11", f"?version={w.draft_label}", "?spec=model-spec",
            "?since=2000-01-01&until=2100-12-31", "?since=bad", "?version=2098-01-01"]  # fmt: skip


_ITEM = "staff/items/<feedback_tracking:tracking_number>/publication/"

ROUTES = {
    "transparency/": Way(queries=_dashboard_queries),
    _ITEM: Way(),
    _ITEM + "schedule/": Way(),  # POST only
    _ITEM + "<int:schedule_id>/cancel/": Way(),  # POST only
}


def plant(w, *, make_user) -> None:
    tag = w.draft_label.rsplit("-", 1)[-1]
    scheduler = make_user(f"scheduler{tag}", roles=["reviewer"], is_staff=True)
    w.secrets[scheduler.username] = "scheduler's username"
    w.secrets[scheduler.email] = "staff e-mail"
    latest = Version.objects.select_related("spec").get(spec__slug="model-spec", label="2025-09-12")
    submission = Submission(
        version=latest,
        clause_id="letter_and_spirit",
        kind="editorial",
        summary=w.mark("scheduled internal item: summary"),
        body=w.mark("scheduled internal item: body"),
        visibility=Visibility.INTERNAL,
    )
    item = feedback_submit(acting_user=scheduler, submission=submission).item
    w.secrets[item.tracking_number] = "scheduled internal item: tracking number"
    later = timezone.now() + dt.timedelta(days=365)
    first = publication_schedule(acting_user=scheduler, item=item, publish_at=later)
    note = note_add(
        acting_user=scheduler,
        item=w.items["public-1"],
        body=w.mark("scheduled internal note"),
    )
    second = publication_schedule(acting_user=scheduler, note=note, publish_at=later)
    w.scheduled_ids = [str(first.pk), str(second.pk)]
    w.scheduled_item = item


def values(w) -> dict[str, list[str]]:
    return {"schedule_id": w.scheduled_ids, "tracking_number": [w.scheduled_item.tracking_number]}


def missing(w) -> dict[str, list[str]]:
    return {"schedule_id": ["999999"]}
