"""Reads for the feedback API. Every queryset starts from `feedback_visible_to(viewer)`. For the
public the filters only touch public fields, and a hidden item has no words to search and no
passage, so neither `q` nor `has_passage` can probe what a moderator withheld. Staff filter
through the triage queue's `feedback.queue.queue_filter` (assignee, labels, visibility,
endorsements, age, rank, state lists), which the public may not use."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from feedback.errors import TargetNotFound
from feedback.models import FeedbackItem, Reanchoring
from feedback.queue import queue_annotate, queue_filter
from feedback.selectors import feedback_visible_to, viewer_is_staff
from revisions.models import Version
from revisions.selectors import versions_visible_to

from .errors import ApiError, UnknownParameter
from .serializers import STAFF_ONLY_PARAMETERS, STAFF_ORDERINGS

# Ties break on the public tracking number, never the row id (ids count internal items too).
ORDERINGS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-tracking_number"),
    "oldest": ("created_at", "tracking_number"),
    "most_endorsed": ("-endorsement_count", "-created_at", "-tracking_number"),
    # Staff only (the triage queue's sorts): oldest waiting in its state first; most severe.
    "waiting": ("waiting_at", "tracking_number"),
    "severity": ("-severity_rank", "waiting_at", "tracking_number"),
}


def feedback_api_items(*, viewer) -> QuerySet[FeedbackItem]:
    """The items `viewer` may see, with what the API shows of their target, in one query."""
    return feedback_visible_to(viewer).annotate(
        spec_slug=F("spec__slug"),
        version_label=F("version__label"),
        clause_anchor=F("clause_text__anchor"),
        clause_authority=F("clause_text__authority"),
        example_slug=F("example__slug"),
        # Where later versions carried it (feedback.carry): the latest re-anchoring's version
        # (through its unique (item, version) index) and the clause it stands on now.
        carried_version=Subquery(
            Reanchoring.objects.filter(item_id=OuterRef("pk"))
            .order_by("-created_at", "-id")
            .values("version__label")[:1]
        ),
        carried_clause=F("current_text__anchor"),
        carried_outcome=F("anchor_outcome"),
        carried_confidence=F("anchor_confidence"),
    )


def feedback_api_get(*, viewer, tracking_number: str) -> FeedbackItem | None:
    return feedback_api_items(viewer=viewer).filter(tracking_number=tracking_number).first()


def _staff_only_check(filters: dict[str, Any]) -> None:
    """The public may not filter or sort on what only staff see: refused like unknown
    parameters, so nothing about assignment, labels or internal items can be probed."""
    used = [name for name in STAFF_ONLY_PARAMETERS if filters.get(name) not in (None, "")]
    if used:
        raise UnknownParameter(used)
    if filters.get("ordering") in STAFF_ORDERINGS:
        raise ApiError(
            "This ordering is for staff.",
            code="invalid",
            status=400,
            errors={"ordering": ["Choose newest, oldest or most_endorsed."]},
        )


def feedback_api_list(*, viewer, filters: dict[str, Any]) -> QuerySet[FeedbackItem]:
    """Filtered (not yet ordered or paginated). `filters` come from
    `FeedbackListQuerySerializer`; `filters["queue"]` holds them as the queue parsed them."""
    staff = viewer_is_staff(viewer)
    queue = filters.get("queue") or {}
    items = feedback_api_items(viewer=viewer)
    if staff:
        items = queue_annotate(queue_filter(items, viewer=viewer, params=queue))
    else:
        _staff_only_check(filters)
        if filters.get("spec"):
            items = items.filter(spec__slug=filters["spec"])
        if filters.get("version"):
            items = items.filter(version__label=filters["version"])
        if any(filters.get(name) for name in ("clause", "kind", "authority")):
            # A hidden item's place and kind are withheld: they must not be filterable.
            items = items.filter(hidden=False)
        if filters.get("clause"):
            items = items.filter(clause_text__anchor=filters["clause"])
        if filters.get("kind"):
            items = items.filter(kind=filters["kind"])
        if queue.get("state") is not None:
            items = items.filter(state__in=queue["state"])
        if filters.get("authority"):
            items = items.filter(clause_text__authority=filters["authority"])
        has_passage = filters.get("has_passage")
        if has_passage is not None:
            # A hidden item's passage is withheld: it has none, publicly.
            with_passage = Q(position_start__isnull=False, hidden=False)
            items = items.filter(with_passage) if has_passage else items.exclude(with_passage)
    if filters.get("q", "").strip():
        query = SearchQuery(filters["q"], search_type="websearch", config="english")
        items = items.filter(search=query)
        if not staff:  # a hidden item's words are withheld: they must not be searchable
            items = items.filter(hidden=False)
    return items


def submission_version(*, viewer, spec: str, label: str) -> Version:
    """The version a submission targets, among those the viewer may see (drafts only for
    editors and reviewers). TargetNotFound (a 400 naming the field) otherwise."""
    version = (
        versions_visible_to(viewer)
        .defer("source_markdown", "changelog")
        .filter(spec__slug=spec, label=label)
        .first()
    )
    if version is None:
        if not versions_visible_to(viewer).filter(spec__slug=spec).exists():
            raise TargetNotFound("There is no such spec.", field="spec")
        raise TargetNotFound("There is no such version of this spec.", field="version")
    return version
