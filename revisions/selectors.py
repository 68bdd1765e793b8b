"""Selectors read; services write. Every queryset of versions that reaches a viewer starts from
`versions_visible_to`, so drafts stay with staff on every page and API endpoint alike."""

from __future__ import annotations

from django.db.models import Case, QuerySet, When
from django.http import Http404

from modelspec_site.accounts.roles import EDITOR, REVIEWER, has_role

from .models import ClauseText, Example, Spec, Version

DRAFT_READERS = (EDITOR, REVIEWER)
# Hundreds of KB each; loaded only where the source itself is served.
_LARGE_FIELDS = ("source_markdown", "parent__source_markdown", "parent__changelog")


def versions_visible_to(viewer) -> QuerySet[Version]:
    """Published and superseded versions for everyone; drafts too for editors and reviewers."""
    queryset = Version.objects.select_related("spec")
    if viewer is not None and has_role(viewer, *DRAFT_READERS):
        return queryset
    return queryset.exclude(state=Version.State.DRAFT)


def spec_get(*, slug: str) -> Spec:
    try:
        return Spec.objects.get(slug=slug)
    except Spec.DoesNotExist:
        raise Http404("no such spec") from None


def version_get(*, viewer, spec_slug: str, label: str) -> Version:
    """One query. A version the viewer may not see is a 404, the same as a missing one."""
    try:
        return (
            versions_visible_to(viewer)
            .select_related("parent")
            .defer(*_LARGE_FIELDS)
            .get(spec__slug=spec_slug, label=label)
        )
    except Version.DoesNotExist:
        raise Http404("no such version") from None


def version_current(*, viewer, spec_slug: str) -> Version | None:
    """The spec's published version (what the home page shows)."""
    return (
        versions_visible_to(viewer)
        .select_related("parent")
        .defer(*_LARGE_FIELDS)
        .filter(spec__slug=spec_slug, state=Version.State.PUBLISHED)
        .first()
    )


def version_list(*, viewer, spec: Spec) -> QuerySet[Version]:
    return versions_visible_to(viewer).filter(spec=spec).select_related("parent").order_by("-label")


def version_clause_texts(*, version: Version) -> list[ClauseText]:
    """All clause texts of a version in reading order, each with `.example_list` attached:
    two queries whatever the size of the version."""
    texts = list(ClauseText.objects.filter(version=version).order_by("position"))
    by_id = {t.pk: t for t in texts}
    for text in texts:
        text.example_list = []
    for example in Example.objects.filter(version=version).order_by("clause_text", "position"):
        by_id[example.clause_text_id].example_list.append(example)
    return texts


def clause_text_get(*, version: Version, anchor: str) -> ClauseText:
    try:
        text = ClauseText.objects.select_related("parent").get(version=version, anchor=anchor)
    except ClauseText.DoesNotExist:
        raise Http404("no such clause in this version") from None
    text.example_list = list(text.examples.order_by("position"))
    return text


def clause_versions(*, viewer, clause_text: ClauseText) -> list[ClauseText]:
    """The texts of the same clause in every version the viewer may see, newest first."""
    visible = versions_visible_to(viewer).filter(spec_id=clause_text.version.spec_id)
    return list(
        ClauseText.objects.filter(clause_id=clause_text.clause_id, version__in=visible)
        .select_related("version")
        .only(
            "anchor", "heading", "number", "content_hash", "authority",
            "version__label", "version__state", "version__published_at", "version__spec_id",
        )
        .order_by("-version__label")
    )  # fmt: skip


def clause_latest(*, viewer, spec_slug: str, anchor: str) -> ClauseText:
    """The newest visible text whose id (in its own version) is `anchor`, or whose clause was
    first known by that id."""
    visible = versions_visible_to(viewer).filter(spec__slug=spec_slug)
    text = (
        ClauseText.objects.filter(version__in=visible, anchor=anchor)
        .select_related("version", "version__spec")
        .order_by(
            Case(When(version__state=Version.State.PUBLISHED, then=0), default=1),
            "-version__label",
        )
        .first()
    )
    if text is None:
        raise Http404("no such clause")
    return text
