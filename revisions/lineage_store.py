"""Stored lineage: computing a version's links to its parent, an editor's corrections, and
carrying clause identity along the lineage when a version is published.

The algorithm itself is the pure `revisions.lineage`; this module loads its input, stores its
output and records the editor's corrections in the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, ProtectedError, QuerySet
from django.utils.translation import gettext as _

from modelspec_site.accounts.roles import EDITOR, has_role
from modelspec_site.audit.models import Visibility
from modelspec_site.audit.services import audit_record

from .lineage import EXAMPLE_MARKER, Link, TextSnapshot, carry_identity, compute_lineage
from .models import Clause, ClauseText, Example, LineageLink, LineageOverride, Version
from .services import VersionStateError

_SNAPSHOT_FIELDS = (
    "pk",
    "anchor",
    "heading",
    "level",
    "number",
    "parent_anchor",
    "position",
    "authority",
    "authority_rank",
    "content_hash",
    "plain_text",
    "footnotes",
    "example_titles",
)


def _snapshot_rows(version: Version) -> list[dict]:
    titles = Example.objects.filter(clause_text=OuterRef("pk")).order_by("position").values("title")
    return list(
        ClauseText.objects.filter(version=version)
        .annotate(parent_anchor=F("parent__anchor"), example_titles=ArraySubquery(titles))
        .order_by("position")
        .values(*_SNAPSHOT_FIELDS)
    )


def _snapshot(row: dict) -> TextSnapshot:
    markers = tuple(row["footnotes"] or ()) + tuple(
        EXAMPLE_MARKER + title for title in row["example_titles"] or ()
    )
    return TextSnapshot(
        anchor=row["anchor"],
        heading=row["heading"],
        level=row["level"],
        number=row["number"],
        parent_anchor=row["parent_anchor"],
        position=row["position"],
        authority=row["authority"],
        authority_rank=row["authority_rank"],
        content_hash=row["content_hash"],
        plain_text=row["plain_text"],
        markers=markers,
    )


def snapshots(version: Version) -> list[TextSnapshot]:
    """The version's clause texts as lineage input, in document order (one query)."""
    return [_snapshot(row) for row in _snapshot_rows(version)]


def _overrides(version: Version) -> list[tuple[str, str]]:
    return list(
        LineageOverride.objects.filter(version=version)
        .order_by("pk")
        .values_list("old_anchor", "new_anchor")
    )


def lineage_refresh(version: Version) -> list[LineageLink]:
    """Compute the lineage between `version` and its parent, with the editor's overrides, and
    replace the version's stored links with it, in one transaction. Returns the new links, or
    [] when the version has no parent (nothing is stored then)."""
    if version.parent_id is None:
        return []
    with transaction.atomic():
        old_rows = _snapshot_rows(version.parent)
        new_rows = _snapshot_rows(version)
        links = compute_lineage(
            [_snapshot(r) for r in old_rows],
            [_snapshot(r) for r in new_rows],
            _overrides(version),
        )
        old_pk = {r["anchor"]: r["pk"] for r in old_rows}
        new_pk = {r["anchor"]: r["pk"] for r in new_rows}
        LineageLink.objects.filter(version=version).delete()
        return LineageLink.objects.bulk_create(
            LineageLink(
                version=version,
                kind=link.kind,
                old_text_id=old_pk[link.old_anchor] if link.old_anchor else None,
                new_text_id=new_pk[link.new_anchor] if link.new_anchor else None,
                similarity=link.similarity,
                text_changed=link.text_changed,
                moved=link.moved,
                authority_changed=link.authority_changed,
                by_editor=link.by_editor,
            )
            for link in links
        )


def lineage_links(version: Version) -> QuerySet[LineageLink]:
    """The stored links of `version` (to its parent), in the algorithm's order (by new
    position, removals last), with both texts loaded."""
    return (
        LineageLink.objects.filter(version=version)
        .select_related("old_text", "new_text")
        .order_by("pk")
    )


def lineage_overrides(version: Version) -> QuerySet[LineageOverride]:
    return LineageOverride.objects.filter(version=version).order_by("pk")


def _check_editable(version: Version, acting_user) -> None:
    if not has_role(acting_user, EDITOR):
        raise PermissionDenied(_("Only editors can correct the lineage."))
    if version.state != Version.State.DRAFT:
        raise VersionStateError(
            f"version {version.label} is {version.state}; only a draft's lineage can change"
        )
    if version.parent_id is None:
        raise ValidationError(_("This version has no parent, so it has no lineage to correct."))


def lineage_override_set(
    *,
    version: Version,
    old_anchor: str,
    new_anchor: str,
    acting_user,
    replace: bool = False,
) -> LineageOverride:
    """Record an editor's correction of a draft's lineage and recompute its links.

    (old, new): `old` in the parent is a predecessor of `new` in the draft; ("", new): `new`
    is really added; (old, ""): `old` is really removed. Contradicting overrides go: "added"
    drops every other override of `new`, "removed" every other override of `old`, and a
    predecessor drops those two. With `replace`, a predecessor also replaces `new`'s other
    predecessors (without it, several predecessors make a merge, several successors a split).

    Raises PermissionDenied (not an editor), VersionStateError (not a draft) or
    ValidationError (an anchor that is not in the parent / the draft)."""
    old_anchor, new_anchor = (old_anchor or "").strip(), (new_anchor or "").strip()
    with transaction.atomic():
        version = Version.objects.select_for_update().get(pk=version.pk)
        _check_editable(version, acting_user)
        errors: dict[str, str] = {}
        if not old_anchor and not new_anchor:
            errors["new_anchor"] = _("Name a clause of the draft or of its parent.")
        if (
            old_anchor
            and not ClauseText.objects.filter(
                version_id=version.parent_id, anchor=old_anchor
            ).exists()
        ):
            errors["old_anchor"] = _("The parent version has no clause with this id.")
        if (
            new_anchor
            and not ClauseText.objects.filter(version=version, anchor=new_anchor).exists()
        ):
            errors["new_anchor"] = _("The draft has no clause with this id.")
        if errors:
            raise ValidationError(errors)

        stale = LineageOverride.objects.filter(version=version)
        if old_anchor and new_anchor:
            dropped = stale.filter(old_anchor="", new_anchor=new_anchor) | stale.filter(
                old_anchor=old_anchor, new_anchor=""
            )
            if replace:
                dropped = dropped | stale.filter(new_anchor=new_anchor).exclude(
                    old_anchor=old_anchor
                )
        elif new_anchor:
            dropped = stale.filter(new_anchor=new_anchor).exclude(old_anchor="")
        else:
            dropped = stale.filter(old_anchor=old_anchor).exclude(new_anchor="")
        replaced = [
            f"{o or '-'} -> {n or '-'}" for o, n in dropped.values_list("old_anchor", "new_anchor")
        ]
        dropped.delete()
        override, created = LineageOverride.objects.get_or_create(
            version=version,
            old_anchor=old_anchor,
            new_anchor=new_anchor,
            defaults={"created_by": acting_user},
        )
        audit_record(
            actor=acting_user,
            action="version.lineage_corrected",
            subjects=[version],
            data={
                "label": version.label,
                "set": {"old_anchor": old_anchor, "new_anchor": new_anchor},
                "replaced": replaced,
                "already_set": not created,
            },
            visibility=Visibility.INTERNAL,
        )
        lineage_refresh(version)
    return override


def lineage_override_clear(*, override: LineageOverride, acting_user) -> None:
    """Withdraw an editor's correction and recompute the draft's links."""
    with transaction.atomic():
        version = Version.objects.select_for_update().get(pk=override.version_id)
        _check_editable(version, acting_user)
        deleted, _detail = LineageOverride.objects.filter(pk=override.pk).delete()
        audit_record(
            actor=acting_user,
            action="version.lineage_corrected",
            subjects=[version],
            data={
                "label": version.label,
                "cleared": {"old_anchor": override.old_anchor, "new_anchor": override.new_anchor},
                "already_cleared": not deleted,
            },
            visibility=Visibility.INTERNAL,
        )
        lineage_refresh(version)


def lineage_apply_identity(version: Version) -> int:
    """Give each text of `version` the clause identity of its predecessor along the stored
    lineage (renamed, moved, edited, unchanged; in a split the most similar successor, in a
    merge the most similar predecessor, an id kept winning both), so that a clause's history
    follows renames. A text that carries no predecessor's identity keeps its own clause, or
    gets a new one when its id names a clause that lives on elsewhere (a reused id). Clause
    rows left without texts are deleted unless something references them.

    Call it after `lineage_refresh`, inside the publish transaction. Returns how many texts
    changed clause."""
    with transaction.atomic():
        links = list(
            LineageLink.objects.filter(
                version=version, old_text__isnull=False, new_text__isnull=False
            ).values_list("old_text__anchor", "new_text__anchor", "similarity", "old_text__clause")
        )
        clause_of_old = {old: clause for old, _new, _sim, clause in links}
        carried = carry_identity((old, new, sim) for old, new, sim, _clause in links)
        texts = list(
            ClauseText.objects.select_for_update()
            .filter(version=version)
            .only("pk", "anchor", "clause_id")
            .order_by("position")
        )
        wanted: dict[int, int | None] = {
            t.pk: clause_of_old[carried[t.anchor]] if t.anchor in carried else None for t in texts
        }
        claimed = {c for c in wanted.values() if c is not None}
        # Clauses that live on outside this version (a published or superseded text).
        current = {t.clause_id for t in texts}
        elsewhere = set(
            ClauseText.objects.filter(clause_id__in=current)
            .exclude(version=version)
            .exclude(version__state=Version.State.DRAFT)
            .values_list("clause_id", flat=True)
        )
        for text in texts:
            if wanted[text.pk] is None and (
                text.clause_id in claimed or text.clause_id in elsewhere
            ):
                wanted[text.pk] = _fresh_clause(version, text.anchor).pk
            elif wanted[text.pk] is None:
                wanted[text.pk] = text.clause_id
        changing = [t for t in texts if wanted[t.pk] != t.clause_id]
        if not changing:
            return 0
        # Two steps through placeholder clauses, so that swapped identities never meet the
        # (version, clause) uniqueness check halfway.
        placeholders = Clause.objects.bulk_create(
            Clause(spec_id=version.spec_id, key=f"~lineage-{version.pk}-{t.pk}") for t in changing
        )
        left_behind = {t.clause_id for t in changing}
        for text, placeholder in zip(changing, placeholders, strict=True):
            text.clause_id = placeholder.pk
        ClauseText.objects.bulk_update(changing, ["clause"])
        for text in changing:
            text.clause_id = wanted[text.pk]
        ClauseText.objects.bulk_update(changing, ["clause"])
        Clause.objects.filter(pk__in=[p.pk for p in placeholders]).delete()
        for clause in Clause.objects.filter(pk__in=left_behind, texts__isnull=True):
            _delete_if_unreferenced(clause)
    return len(changing)


def _delete_if_unreferenced(clause: Clause) -> None:
    """Delete a clause row nothing points at. Rows that something references are kept, also
    those whose references would cascade (a subscription must not vanish with it); revisions
    cannot name those models, so it asks every relation Django knows of."""
    for relation in Clause._meta.related_objects:
        if relation.related_model._default_manager.filter(**{relation.field.name: clause}).exists():
            return
    try:
        with transaction.atomic():
            clause.delete()
    except ProtectedError:
        pass


def _fresh_clause(version: Version, anchor: str) -> Clause:
    """A new clause identity for a reused id: keyed `anchor@label` (the key must be unique)."""
    base = f"{anchor}@{version.label}"[:120]
    key, n = base, 1
    while Clause.objects.filter(spec_id=version.spec_id, key=key).exists():
        n += 1
        key = f"{base}-{n}"
    return Clause.objects.create(spec_id=version.spec_id, key=key)


def links_for_anchors(links: Sequence[LineageLink]) -> dict[str, list[LineageLink]]:
    """{new anchor: its links} (removals under the old anchor), for pages."""
    grouped: dict[str, list[LineageLink]] = {}
    for link in links:
        anchor = link.new_text.anchor if link.new_text_id else link.old_text.anchor
        grouped.setdefault(anchor, []).append(link)
    return grouped


@dataclass(frozen=True)
class LineageView:
    """What the lineage page shows: links with both sides' headings, fresh for a draft (its
    text may have changed since the links were stored), stored for a published version."""

    links: list[Link]
    old: dict[str, TextSnapshot]
    new: dict[str, TextSnapshot]
    live: bool


def lineage_view(version: Version) -> LineageView:
    """The lineage of `version` against its parent, for reading (no writes)."""
    if version.parent_id is None:
        return LineageView([], {}, {}, live=False)
    old = snapshots(version.parent)
    new = snapshots(version)
    if version.state == Version.State.DRAFT:
        links = compute_lineage(old, new, _overrides(version))
        live = True
    else:
        links = [
            Link(
                old_anchor=link.old_text.anchor if link.old_text_id else None,
                new_anchor=link.new_text.anchor if link.new_text_id else None,
                kind=link.kind,
                similarity=link.similarity,
                text_changed=link.text_changed,
                moved=link.moved,
                authority_changed=link.authority_changed,
                by_editor=link.by_editor,
            )
            for link in lineage_links(version)
        ]
        live = False
    return LineageView(links, {t.anchor: t for t in old}, {t.anchor: t for t in new}, live=live)
