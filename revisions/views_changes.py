"""A version's changelog: the editor's summary (Markdown, sanitised) and the list of changes
generated from the stored lineage, each with a link to the compare view and, through the
`changes_extras` hook, the feedback behind it. Public for published and superseded versions;
a draft's page only for those who may read drafts (everyone else gets a 404)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from . import hooks, rendering, selectors
from .models import LineageKind, LineageLink

# The order of the groups on the page: what changed most first, unchanged clauses last.
KIND_ORDER = [
    LineageKind.ADDED, LineageKind.REMOVED, LineageKind.EDITED, LineageKind.RENAMED,
    LineageKind.MOVED, LineageKind.SPLIT, LineageKind.MERGED, LineageKind.UNCHANGED,
]  # fmt: skip
_TEXT_FIELDS = ("anchor", "heading", "number", "authority")


def _links(version) -> list[LineageLink]:
    only = ["kind", "similarity", "text_changed", "moved", "authority_changed", "by_editor",
            "old_text_id", "new_text_id", "version_id"]  # fmt: skip
    for side in ("old_text", "new_text"):
        only += [f"{side}__{name}" for name in _TEXT_FIELDS]
    return list(
        LineageLink.objects.filter(version=version)
        .select_related("old_text", "new_text")
        .only(*only)
        .order_by("pk")
    )


def _compare_url(version) -> str:
    if version.parent_id is None:
        return ""
    try:
        return reverse(
            "revisions:compare",
            kwargs={
                "spec": version.spec.slug,
                "from_label": version.parent.label,
                "to_label": version.label,
            },
        )
    except NoReverseMatch:  # the compare view is not installed
        return ""


@require_GET
def version_changes(request: HttpRequest, spec: str, label: str) -> HttpResponse:
    version = selectors.version_get(viewer=request.user, spec_slug=spec, label=label)
    links = _links(version)
    extras, page_extras = hooks.changes_extras(request=request, version=version, links=links)
    compare_url = _compare_url(version)
    groups = []
    for kind in KIND_ORDER:
        members = [link for link in links if link.kind == kind]
        if not members:
            continue
        for link in members:
            link.extras = extras.get(link.pk, "")
            anchor = link.new_text.anchor if link.new_text_id else link.old_text.anchor
            link.compare_url = f"{compare_url}#clause-{anchor}" if compare_url else ""
        groups.append({"kind": kind, "label": kind.label, "links": members,
                       "listed": kind != LineageKind.UNCHANGED})  # fmt: skip
    changelog = (
        mark_safe(rendering.render_markdown(version.changelog, spec=False))  # noqa: S308 - sanitised
        if version.changelog.strip()
        else ""
    )
    return render(
        request,
        "revisions/changes.html",
        {"spec": version.spec, "version": version, "changelog": changelog, "groups": groups,
         "compare_url": compare_url, "page_extras": page_extras,
         "changed": sum(len(g["links"]) for g in groups if g["listed"])},
    )  # fmt: skip
