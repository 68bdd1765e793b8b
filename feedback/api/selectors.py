"""Reads for the feedback API. Every queryset starts from `feedback_visible_to(viewer)`; the
filters only touch public fields; and for the public a hidden item has no words to search and
no passage, so neither `q` nor `has_passage` can probe what a moderator withheld."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db.models import F, Q, QuerySet

from feedback.errors import TargetNotFound
from feedback.models import FeedbackItem
from feedback.selectors import feedback_visible_to, viewer_is_staff
from revisions.models import Version
from revisions.selectors import versions_visible_to

# Ties break on the public tracking number, never the row id (ids count internal items too).
ORDERINGS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-tracking_number"),
    "oldest": ("created_at", "tracking_number"),
    "most_endorsed": ("-endorsement_count", "-created_at", "-tracking_number"),
}


def feedback_api_items(*, viewer) -> QuerySet[FeedbackItem]:
    """The items `viewer` may see, with what the API shows of their target, in one query."""
    return feedback_visible_to(viewer).annotate(
        spec_slug=F("spec__slug"),
        version_label=F("version__label"),
        clause_anchor=F("clause_text__anchor"),
        clause_authority=F("clause_text__authority"),
        example_slug=F("example__slug"),
    )


def feedback_api_get(*, viewer, tracking_number: str) -> FeedbackItem | None:
    return feedback_api_items(viewer=viewer).filter(tracking_number=tracking_number).first()


def feedback_api_list(*, viewer, filters: dict[str, Any]) -> QuerySet[FeedbackItem]:
    """Filtered (not yet ordered or paginated). `filters` come from
    `FeedbackListQuerySerializer`: an allowlist of public fields."""
    staff = viewer_is_staff(viewer)
    items = feedback_api_items(viewer=viewer)
    if filters.get("spec"):
        items = items.filter(spec__slug=filters["spec"])
    if filters.get("version"):
        items = items.filter(version__label=filters["version"])
    if filters.get("clause"):
        items = items.filter(clause_text__anchor=filters["clause"])
    if filters.get("kind"):
        items = items.filter(kind=filters["kind"])
    if filters.get("state"):
        items = items.filter(state=filters["state"])
    if filters.get("authority"):
        items = items.filter(clause_text__authority=filters["authority"])
    has_passage = filters.get("has_passage")
    if has_passage is not None:
        with_passage = Q(position_start__isnull=False)
        if not staff:  # a hidden item's passage is withheld: it has none, publicly
            with_passage &= Q(hidden=False)
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
