"""Reads the API needs beyond `revisions.selectors`. Every one starts from `versions_visible_to`,
so a draft reaches only editors and reviewers, and each costs a fixed number of queries whatever
the size of the spec."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Subquery
from django.http import Http404

from revisions.models import AuthorityLevel, ClauseText, Spec, Version
from revisions.selectors import versions_visible_to

from .history import HistoryEntry, history_entries

_OUTLINE_FIELDS = (
    "id", "parent_id", "position", "anchor", "heading", "number", "level",
    "authority", "authority_rank", "attributes", "content_hash",
)  # fmt: skip


def spec_list(*, viewer) -> list[Spec]:
    """Every spec with its authority vocabulary (`.vocabulary`) and its published version, if
    any (`.published`, a list of at most one): three queries."""
    published = (
        versions_visible_to(viewer)
        .select_related(None)
        .filter(state=Version.State.PUBLISHED)
        .only("id", "spec_id", "label", "state")
    )
    return list(
        Spec.objects.order_by("title", "slug").prefetch_related(
            Prefetch(
                "authority_levels",
                queryset=AuthorityLevel.objects.order_by("rank", "name"),
                to_attr="vocabulary",
            ),
            Prefetch("versions", queryset=published, to_attr="published"),
        )
    )


def clause_outline(*, version: Version) -> list[ClauseText]:
    """The version's clause texts in reading order, without their bodies, each annotated with
    `example_count`: one query."""
    return list(
        ClauseText.objects.filter(version=version)
        .only(*_OUTLINE_FIELDS)
        .annotate(example_count=Count("examples"))
        .order_by("position")
    )


def clause_history(*, viewer, spec_slug: str, anchor: str) -> list[HistoryEntry]:
    """Every visible version's text of the clause that `anchor` names, oldest first.

    `anchor` picks the clause through the newest visible version that has a clause with that id
    (ids can be renamed or reused); its texts are then followed by identity across versions.
    One query; an unknown spec or clause, or one only in versions the viewer may not see, is
    a 404."""
    visible = versions_visible_to(viewer).filter(spec__slug=spec_slug)
    named = (
        ClauseText.objects.filter(version__in=visible, anchor=anchor)
        .order_by("-version__label")
        .values("clause_id")[:1]
    )
    texts = list(
        ClauseText.objects.filter(version__in=visible, clause_id=Subquery(named))
        .select_related("version")
        .only(
            "anchor", "heading", "number", "authority", "authority_rank", "content_hash",
            "clause_id", "version__label", "version__state",
        )
        .order_by("version__label")
    )  # fmt: skip
    if not texts:
        raise Http404("no such clause")
    return history_entries(texts)
