"""Compare two versions, and a clause's history: public pages (drafts only for editors and
reviewers, through `versions_visible_to`).

The comparison itself comes from `revisions.compare.comparison_data` (cached for published
text); the views only choose versions and turn each entry's word-level operations into HTML."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from . import diffing, hooks, selectors
from .api.history import clause_lineage_history
from .compare import comparison_data
from .models import LineageKind

# The order of the groups on the page: what changed first, what did not last.
GROUP_ORDER = (
    LineageKind.EDITED,
    LineageKind.RENAMED,
    LineageKind.MOVED,
    LineageKind.SPLIT,
    LineageKind.MERGED,
    LineageKind.ADDED,
    LineageKind.REMOVED,
    LineageKind.UNCHANGED,
)
VIEWS = ("inline", "side")


class CompareForm(forms.Form):
    from_label = forms.ChoiceField(label=_("Older version"))
    to_label = forms.ChoiceField(label=_("Newer version"))

    def __init__(self, *args, labels: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_label"].choices = labels
        self.fields["to_label"].choices = labels


def _version_choices(versions) -> list[tuple[str, str]]:
    return [(v.label, f"{v.label} ({v.get_state_display()})") for v in versions]


@require_GET
def compare_choose(request: HttpRequest, spec: str) -> HttpResponse:
    """Choose two versions (a GET form that works without JavaScript); a valid choice
    redirects to the comparison."""
    spec_obj = selectors.spec_get(slug=spec)
    versions = list(selectors.version_list(viewer=request.user, spec=spec_obj))
    labels = _version_choices(versions)
    if "from_label" in request.GET or "to_label" in request.GET:
        form = CompareForm(request.GET, labels=labels)
        if form.is_valid():
            return redirect(
                "revisions:compare",
                spec=spec_obj.slug,
                from_label=form.cleaned_data["from_label"],
                to_label=form.cleaned_data["to_label"],
            )
        status = 400
    else:
        form = CompareForm(initial=_default_pair(versions), labels=labels)
        status = 200
    return render(
        request, "revisions/compare_choose.html", {"spec": spec_obj, "form": form}, status=status
    )


def _default_pair(versions) -> dict[str, str]:
    """The published version and the one it revises."""
    current = next((v for v in versions if v.state == "published"), None)
    if current is None:
        return {}
    initial = {"to_label": current.label}
    if current.parent is not None:
        initial["from_label"] = current.parent.label
    return initial


@require_GET
def compare_detail(request: HttpRequest, spec: str, from_label: str, to_label: str) -> HttpResponse:
    """Every clause grouped by lineage kind, with word-level changes inline or side by side
    (`?view=side`), example and authority changes."""
    older = selectors.version_get(viewer=request.user, spec_slug=spec, label=from_label)
    newer = selectors.version_get(viewer=request.user, spec_slug=spec, label=to_label)
    data = comparison_data(older, newer)
    view = request.GET.get("view", "inline")
    if view not in VIEWS:
        view = "inline"
    groups = _groups(data["clauses"], side=view == "side")
    base = reverse(
        "revisions:compare", kwargs={"spec": spec, "from_label": from_label, "to_label": to_label}
    )
    context = {
        "spec": older.spec,
        "older": older,
        "newer": newer,
        "data": data,
        "groups": groups,
        "view": view,
        "inline_url": base,
        "side_url": f"{base}?view=side",
        "swap_url": reverse(
            "revisions:compare",
            kwargs={"spec": spec, "from_label": to_label, "to_label": from_label},
        ),
        "api_url": reverse(
            "revisions_api:compare",
            kwargs={"spec": spec, "from_label": from_label, "to_label": to_label},
        ),
        "form": CompareForm(
            initial={"from_label": from_label, "to_label": to_label},
            labels=_version_choices(selectors.version_list(viewer=request.user, spec=older.spec)),
        ),
    }
    return render(request, "revisions/compare.html", context)


def change_fragment(entry: dict[str, Any]) -> str:
    """The id of a clause's entry on the compare page: `clause-<new id>`, or
    `removed-<old id>` for a removed clause (links from other pages use it)."""
    if entry["new"]:
        return f"clause-{entry['new']['id']}"
    return f"removed-{entry['old']['id']}"


def _groups(clauses: list[dict[str, Any]], *, side: bool) -> list[dict[str, Any]]:
    by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in GROUP_ORDER}
    used_ids: set[str] = set()
    for entry in clauses:
        item = dict(entry)
        html_id = change_fragment(entry)
        # A split or merge lists one clause several times; only the first gets the id.
        item["html_id"] = html_id if html_id not in used_ids else ""
        used_ids.add(html_id)
        if entry["kind"] != LineageKind.UNCHANGED:
            item["heading_html"] = _diff_html(entry["heading_diff"], side=False)
            item["body_html"] = _diff_html(entry["body_diff"], side=side)
        by_kind.setdefault(entry["kind"], []).append(item)
    return [
        {"kind": kind, "label": LineageKind(kind).label, "entries": entries}
        for kind, entries in by_kind.items()
        if entries
    ]


def _diff_html(ops: list[list[str]] | None, *, side: bool):
    if not ops:
        return ""
    pairs = [(op, text) for op, text in ops]
    if side:
        return diffing.render_side_by_side(pairs)
    return diffing.render_inline_diff(pairs)


# --- Clause history --------------------------------------------------------------------------


@require_GET
def clause_history_page(request: HttpRequest, spec: str, clause_id: str) -> HttpResponse:
    """Every version of a clause through its lineage, newest first, each change with its kind,
    a link to its word-level diff, and the feedback and decisions behind it (from the hooks)."""
    spec_obj = selectors.spec_get(slug=spec)
    entries = clause_lineage_history(viewer=request.user, spec_slug=spec, anchor=clause_id)
    extras = hooks.history_extras(request=request, spec=spec, entries=entries)
    rows = []
    for entry in reversed(entries):
        diff_url = ""
        if entry.previous_label is not None and not (
            entry.change == "unchanged" and entry.lineage in (None, LineageKind.UNCHANGED)
        ):
            diff_url = (
                reverse(
                    "revisions:compare",
                    kwargs={
                        "spec": spec,
                        "from_label": entry.previous_label,
                        "to_label": entry.label,
                    },
                )
                + f"#clause-{entry.anchor}"
            )
        rows.append({"entry": entry, "diff_url": diff_url, "extras": extras.get(entry.label, "")})
    return render(
        request,
        "revisions/history.html",
        {"spec": spec_obj, "clause_id": clause_id, "rows": rows, "latest": entries[-1]},
    )
