"""The one place that decides which feedback a viewer may see. Every page, API endpoint, feed,
export, search and count starts from `feedback_visible_to`.

- The public (and commenters) see public items. An item hidden by a moderator still appears,
  but public views show only its tracking number, state and the public reason (`hidden` is a
  flag the templates and serializers obey through `public_fields_of`).
- Staff (any role) see internal items too.
Submitters' e-mail addresses and follow-token hashes are never selected for public views."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from modelspec_site.accounts.roles import is_staff_member

from .models import FeedbackItem, Visibility

# Fields a public view may read. Everything else (e-mail, token hash, report counts…) is
# deferred so a template or serializer cannot reach it by accident.
PUBLIC_FIELDS = (
    "id", "tracking_number", "spec_id", "version_id", "clause_id", "clause_text_id",
    "example_id", "quote_exact", "quote_prefix", "quote_suffix", "position_start",
    "position_end", "kind", "severity", "summary", "body", "suggested_text",
    "example_conversation", "affiliation", "conflict_of_interest", "visibility", "state",
    "submitter_name", "hidden", "hidden_reason", "hidden_at", "endorsement_count",
    "created_at", "updated_at",
)  # fmt: skip


def viewer_is_staff(viewer) -> bool:
    return viewer is not None and is_staff_member(viewer)


def feedback_visible_to(viewer) -> QuerySet[FeedbackItem]:
    """Every feedback item `viewer` may know exists."""
    queryset = FeedbackItem.objects.all()
    if viewer_is_staff(viewer):
        return queryset
    return queryset.filter(visibility=Visibility.PUBLIC).only(*PUBLIC_FIELDS)


def feedback_get(*, viewer, tracking_number: str) -> FeedbackItem | None:
    return (
        feedback_visible_to(viewer)
        .select_related("version", "version__spec", "clause_text", "example")
        .filter(tracking_number=tracking_number)
        .first()
    )


def placed_for(viewer, queryset: QuerySet[FeedbackItem]) -> QuerySet[FeedbackItem]:
    """Where an item sits (its clause) is content too: for the public, lists and counts by
    clause leave out what a moderator hid."""
    return queryset if viewer_is_staff(viewer) else queryset.filter(hidden=False)


def feedback_counts_by_clause(*, viewer, version_id: int) -> dict[int, int]:
    """{clause_text_id: items the viewer may see} for one version: one query."""
    rows = (
        placed_for(viewer, feedback_visible_to(viewer))
        .filter(version_id=version_id)
        .order_by()
        .values("clause_text_id")
        .annotate(n=Count("id"))
    )
    return {row["clause_text_id"]: row["n"] for row in rows}
