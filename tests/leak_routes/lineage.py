"""The lineage pages of a version under /staff/ (editors correct a draft's lineage): the page
sends the public to sign in; correcting is POST only.

Planted: an editor's correction on the crawl's draft (so the clear route has a real id)."""

from revisions.lineage_store import lineage_override_set
from revisions.models import LineageOverride, Version

from ..leaks_support import Way

ROUTES = {
    "staff/drafts/<int:pk>/lineage/": Way(queries=("", "?new=overview", "?new=nope")),
    "staff/drafts/<int:pk>/lineage/override/": Way(),
    "staff/drafts/<int:pk>/lineage/override/<int:override_id>/clear/": Way(),
}


def plant(w, *, make_user) -> None:
    editor = make_user("lineage-editor-leak", roles=["editor"], is_staff=True)
    w.secrets.setdefault(editor.get_username(), "lineage editor's name")
    draft = Version.objects.get(label=w.draft_label)
    w.lineage_override = lineage_override_set(
        version=draft, old_anchor="", new_anchor=w.draft_clause, acting_user=editor
    )


def values(w) -> dict[str, list[str]]:
    draft = Version.objects.get(label=w.draft_label)
    return {
        "pk": [str(draft.pk), str(draft.parent_id)],
        "override_id": [str(w.lineage_override.pk)],
    }


def missing(w) -> dict[str, list[str]]:
    last = LineageOverride.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return {"pk": ["999999999"], "override_id": [str(last + 1000)]}
