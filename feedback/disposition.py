"""A version's disposition report: every item RECEIVED on that version that the viewer may see,
with its state, the decision and its public rationale, the change it led to (the clause a
change proposal produced in a published version) and where a later version carried it.

Starts from `feedback_visible_to(viewer)` (and, for the public, leaves out what a moderator
hid, as the lists do). What the viewer may not see is never listed, only counted, in one
total (`withheld`): internal and hidden items are not told apart.

A fixed number of queries whatever the number of items: two counts, one query for the
changes, and the items themselves (read with `.values()` — only public fields — and, for the
exports, streamed in chunks)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse

from modelspec_site.accounts.roles import has_role
from revisions.models import ChangeProposal, Version
from revisions.selectors import DRAFT_READERS

from . import workflow
from .models import FeedbackItem, ProposalLink, State
from .selectors import feedback_visible_to, placed_for, viewer_is_staff

# Every field a row reads: all of them public facts about a public item.
_FIELDS = (
    "id", "tracking_number", "kind", "summary", "state", "resolution", "state_changed_at",
    "created_at", "visibility", "hidden", "clause_text__anchor", "clause_text__heading",
    "current_text__anchor", "current_text__version__label", "anchor_outcome",
    "anchor_confidence",
)  # fmt: skip
# States that are a decision (the item's outcome so far), with the rationale that went with it.
DECIDED = frozenset(s for s in State.values if workflow.is_closed(s)) | {State.ACCEPTED}
CHUNK = 2000

COLUMNS = (
    "tracking_number", "url", "clause_id", "kind", "summary", "state", "decision",
    "rationale", "decided_at", "change_version", "change_clause_id", "change_url",
    "carried_to_version", "carried_to_clause_id", "carried_outcome", "carried_confidence",
    "received_at",
)  # fmt: skip


@dataclass(frozen=True)
class Disposition:
    version: Version
    listed: int
    withheld: int
    items: QuerySet  # the listed items, as `.values()` dicts, oldest first
    changes: dict[int, list[dict]]
    staff: bool

    @property
    def received(self) -> int:
        return self.listed + self.withheld

    def rows(self, *, offset: int = 0, limit: int | None = None) -> Iterator[dict]:
        """One dict per listed item (keys COLUMNS, plus `visibility` and `hidden` for staff),
        read lazily: all of them in chunks, or the slice `offset:offset+limit`."""
        if limit is not None:
            items = iter(self.items[offset : offset + limit])
        else:
            items = self.items.iterator(chunk_size=CHUNK)
        for item in items:
            yield _row(item, self.changes, staff=self.staff)


def _visible(viewer, version: Version) -> QuerySet[FeedbackItem]:
    return placed_for(viewer, feedback_visible_to(viewer)).filter(version=version)


def _changes(viewer, version: Version) -> dict[int, list[dict]]:
    """{item id: [the changes it led to]}: proposals linked to the item that were applied to a
    version the viewer may read (a published one; drafts too for those who read drafts). One
    query."""
    states = [ChangeProposal.State.PUBLISHED]
    draft_states = [Version.State.PUBLISHED, Version.State.SUPERSEDED]
    if viewer is not None and has_role(viewer, *DRAFT_READERS):
        states.append(ChangeProposal.State.APPLIED)
        draft_states.append(Version.State.DRAFT)
    rows = (
        ProposalLink.objects.filter(
            item__version=version,
            proposal__state__in=states,
            proposal__draft__isnull=False,
            proposal__draft__state__in=draft_states,
        )
        .order_by("proposal_id")
        .values(
            "item_id", "proposal__applied_anchor", "proposal__operation",
            "proposal__draft__label", "proposal__draft__spec__slug",
            "proposal__draft__parent__label",
        )
    )  # fmt: skip
    out: dict[int, list[dict]] = {}
    for row in rows:
        spec, label = row["proposal__draft__spec__slug"], row["proposal__draft__label"]
        anchor = row["proposal__applied_anchor"]
        if anchor:
            url = reverse("revisions:clause", kwargs={"spec": spec, "label": label,
                                                      "clause_id": anchor})  # fmt: skip
        else:  # a removal: the change is seen in the comparison with the parent
            url = reverse("revisions:changes", kwargs={"spec": spec, "label": label})
        out.setdefault(row["item_id"], []).append(
            {
                "version": label,
                "clause_id": anchor,
                "operation": row["proposal__operation"],
                "url": url,
            }
        )
    return out


def _row(item: dict, changes: dict[int, list[dict]], *, staff: bool) -> dict:
    decided = item["state"] in DECIDED
    change = (changes.get(item["id"]) or [None])[-1]
    carried = item["current_text__anchor"]
    row = {
        "tracking_number": item["tracking_number"],
        "url": reverse("feedback:item", kwargs={"tracking_number": item["tracking_number"]}),
        "clause_id": item["clause_text__anchor"],
        "kind": item["kind"],
        "summary": item["summary"],
        "state": item["state"],
        "decision": item["state"] if decided else "",
        "rationale": item["resolution"] if decided else "",
        "decided_at": (
            item["state_changed_at"].isoformat() if decided and item["state_changed_at"] else ""
        ),
        "change_version": change["version"] if change else "",
        "change_clause_id": change["clause_id"] if change else "",
        "change_url": change["url"] if change else "",
        "carried_to_version": (item["current_text__version__label"] or "") if carried else "",
        "carried_to_clause_id": carried or "",
        "carried_outcome": item["anchor_outcome"] or "",
        "carried_confidence": item["anchor_confidence"],
        "received_at": item["created_at"].isoformat(),
    }
    if staff:
        row["visibility"] = item["visibility"]
        row["hidden"] = item["hidden"]
    return row


def version_disposition(*, viewer, version: Version) -> Disposition:
    """The report of `version` for `viewer`: the counts and the changes are read now (three
    queries), the items when `rows()` is iterated (one query, or one per chunk)."""
    visible = _visible(viewer, version)
    listed = visible.count()
    received = FeedbackItem.objects.filter(version=version).count()
    return Disposition(
        version=version,
        listed=listed,
        withheld=max(received - listed, 0),
        items=visible.order_by("created_at", "id").values(*_FIELDS),
        changes=_changes(viewer, version),
        staff=viewer_is_staff(viewer),
    )


def json_chunks(report: Disposition) -> Iterator[bytes]:
    """The report as one JSON document, produced piece by piece (constant memory): the page's
    `.json` variant and the API send exactly these bytes."""
    import json

    version = report.version
    head = {
        "spec": version.spec.slug,
        "version": version.label,
        "version_state": version.state,
        "received": report.received,
        "listed": report.listed,
        "withheld": report.withheld,
    }
    yield (json.dumps(head, separators=(",", ":"))[:-1] + ',"items":[').encode()
    first = True
    for row in report.rows():
        yield (("" if first else ",") + json.dumps(row, separators=(",", ":"))).encode()
        first = False
    yield b"]}"


def csv_chunks(report: Disposition) -> Iterator[str]:
    """The report as CSV lines (a header, then one line per listed item), produced lazily.
    The counts travel in the response headers (see the view)."""
    import csv

    class _Line:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for row in report.rows():
        yield writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
