"""A clause's history: what each version did to it, relative to the version before it in which
the clause appears.

`history_entries` and `change_between` are pure. `clause_lineage_history` reads one clause's
texts (by identity, and further back through the stored lineage when the clause was split off
or merged from another one), and `ClauseHistorySerializer` is their API representation with
links to the word-level diffs and the feedback behind each change (from the reader hooks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from revisions.models import ClauseText, LineageKind, LineageLink, Version
from revisions.selectors import versions_visible_to


class Change(StrEnum):
    ADDED = "added"
    UNCHANGED = "unchanged"
    EDITED = "edited"
    RENAMED = "renamed"


class _Text(Protocol):
    anchor: str
    heading: str
    number: str
    authority: str
    authority_rank: int | None
    content_hash: str

    @property
    def version(self) -> _Version: ...


class _Version(Protocol):
    label: str
    state: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    label: str
    state: str
    anchor: str
    heading: str
    number: str
    authority: str
    authority_rank: int | None
    content_hash: str
    change: Change
    same_text: bool
    # The kind the stored lineage gives this text relative to its predecessor (None without a
    # stored link), and the previous entry's version and id (None for the first).
    lineage: str | None = None
    previous_label: str | None = None
    previous_anchor: str | None = None


def change_between(previous: _Text | None, current: _Text) -> Change:
    """A new id wins over a new text: a renamed clause is reported as renamed (`same_text` on
    the entry says whether its text changed too); the content hash covers heading, authority,
    attributes and body, but not the id."""
    if previous is None:
        return Change.ADDED
    if previous.anchor != current.anchor:
        return Change.RENAMED
    if previous.content_hash != current.content_hash:
        return Change.EDITED
    return Change.UNCHANGED


def history_entries(texts: Iterable[_Text]) -> list[HistoryEntry]:
    """`texts` are one clause's texts, oldest version first."""
    entries: list[HistoryEntry] = []
    previous: _Text | None = None
    for text in texts:
        entries.append(
            HistoryEntry(
                label=text.version.label,
                state=text.version.state,
                anchor=text.anchor,
                heading=text.heading,
                number=text.number,
                authority=text.authority,
                authority_rank=text.authority_rank,
                content_hash=text.content_hash,
                change=change_between(previous, text),
                same_text=previous is not None and previous.content_hash == text.content_hash,
                lineage=getattr(text, "lineage_kind", None),
                previous_label=previous.version.label if previous is not None else None,
                previous_anchor=previous.anchor if previous is not None else None,
            )
        )
        previous = text
    return entries


# --- Reading ---------------------------------------------------------------------------------

# How many times the history follows the lineage back to another clause (a split-off piece to
# the clause it came from, and so on): each hop is one query.
MAX_LINEAGE_HOPS = 8
_OTHER_CLAUSE = (LineageKind.SPLIT, LineageKind.MERGED)

_HISTORY_FIELDS = (
    "anchor", "heading", "number", "authority", "authority_rank", "content_hash",
    "clause_id", "version__label", "version__state",
)  # fmt: skip


def _texts_with_lineage(visible, clause_id, *, before_label: str | None = None) -> list:
    # The link into a text from its predecessor; for a merge, the most similar predecessor.
    link_in = LineageLink.objects.filter(new_text=OuterRef("pk"), old_text__isnull=False).order_by(
        "-similarity", "id"
    )
    queryset = ClauseText.objects.filter(version__in=visible, clause_id=clause_id)
    if before_label is not None:
        queryset = queryset.filter(version__label__lt=before_label)
    return list(
        queryset.select_related("version")
        .only(*_HISTORY_FIELDS)
        .annotate(
            lineage_kind=Subquery(
                LineageLink.objects.filter(new_text=OuterRef("pk"))
                .order_by("-similarity", "id")
                .values("kind")[:1]
            ),
            lineage_from_clause=Subquery(link_in.values("old_text__clause_id")[:1]),
        )
        .order_by("version__label")
    )


def clause_lineage_history(*, viewer, spec_slug: str, anchor: str) -> list[HistoryEntry]:
    """Every visible version's text of the clause `anchor` names, oldest first, through its
    lineage: `anchor` picks the clause in the newest visible version that has that id; its
    texts are followed by identity (kept across renames at publish), and when the oldest one
    is a piece of a split or merge that came from another clause, the history continues with
    that clause's earlier texts. One query, plus one per such hop; 404 when nothing is visible."""
    visible = versions_visible_to(viewer).filter(spec__slug=spec_slug)
    named = (
        ClauseText.objects.filter(version__in=visible, anchor=anchor)
        .order_by("-version__label")
        .values("clause_id")[:1]
    )
    texts = _texts_with_lineage(visible, Subquery(named))
    if not texts:
        raise Http404("no such clause")
    seen = {texts[0].clause_id}
    for _ in range(MAX_LINEAGE_HOPS):
        origin = texts[0].lineage_from_clause
        # Identity follows lineage at publish except for the pieces of a split or merge that
        # did not keep the clause: only those continue in another clause.
        if origin is None or origin in seen or texts[0].lineage_kind not in _OTHER_CLAUSE:
            break
        seen.add(origin)
        earlier = _texts_with_lineage(visible, origin, before_label=texts[0].version.label)
        if not earlier:
            break
        texts = earlier + texts
    return history_entries(texts)


# --- API representation ----------------------------------------------------------------------


def _absolute(serializer, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class HistoryFeedbackSerializer(serializers.Serializer):
    tracking_number = serializers.CharField()
    summary = serializers.CharField(help_text="Empty when a moderator hid the item.")
    state = serializers.CharField()
    rationale = serializers.CharField(help_text="The public rationale of the decision.")
    url = serializers.URLField(help_text="The item's public page.")


@extend_schema_serializer(component_name="ClauseHistoryEntry")
class ClauseHistorySerializer(serializers.Serializer):
    label = serializers.CharField(help_text="The version.")
    state = serializers.ChoiceField(choices=Version.State.choices)
    id = serializers.CharField(source="anchor", help_text="The clause's id in that version.")
    heading = serializers.CharField()
    number = serializers.CharField()
    authority = serializers.CharField()
    authority_rank = serializers.IntegerField(allow_null=True)
    content_hash = serializers.CharField()
    change = serializers.ChoiceField(
        choices=[c.value for c in Change],
        help_text=(
            "Relative to the previous entry: `added` (the first), `unchanged`, `edited` "
            "(content hash differs) or `renamed` (id differs; see `same_text` for the text)."
        ),
    )
    same_text = serializers.BooleanField(
        help_text="Content hash equals the previous entry's (false for the first)."
    )
    lineage = serializers.ChoiceField(
        choices=LineageKind.values,
        allow_null=True,
        help_text=(
            "What the version's stored lineage says happened to the clause relative to its "
            "predecessor (`split`, `merged`, `moved`… more precise than `change`); null "
            "when the version has no stored lineage."
        ),
    )
    url = serializers.SerializerMethodField()
    html_url = serializers.SerializerMethodField()
    compare_url = serializers.SerializerMethodField(
        help_text="The word-level comparison with the previous entry's version (API)."
    )
    compare_html_url = serializers.SerializerMethodField(
        help_text="The same comparison as a page, at this clause."
    )
    feedback = serializers.SerializerMethodField(
        help_text=(
            "The feedback behind this version's change to the clause (items incorporated "
            "through change proposals), as far as you may see it."
        )
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, entry: HistoryEntry) -> str:
        spec = self.context["spec"]
        path = reverse("revisions_api:clause-detail", args=[spec, entry.label, entry.anchor])
        return _absolute(self, path)

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, entry: HistoryEntry) -> str:
        spec = self.context["spec"]
        path = reverse(
            "revisions:clause",
            kwargs={"spec": spec, "label": entry.label, "clause_id": entry.anchor},
        )
        return _absolute(self, path)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_compare_url(self, entry: HistoryEntry) -> str | None:
        if entry.previous_label is None:
            return None
        path = reverse(
            "revisions_api:compare", args=[self.context["spec"], entry.previous_label, entry.label]
        )
        return _absolute(self, path)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_compare_html_url(self, entry: HistoryEntry) -> str | None:
        if entry.previous_label is None:
            return None
        path = reverse(
            "revisions:compare",
            kwargs={
                "spec": self.context["spec"],
                "from_label": entry.previous_label,
                "to_label": entry.label,
            },
        )
        return _absolute(self, f"{path}#clause-{entry.anchor}")

    @extend_schema_field(HistoryFeedbackSerializer(many=True))
    def get_feedback(self, entry: HistoryEntry) -> list[dict]:
        rows = self.context.get("feedback", {}).get(entry.label, [])
        return [{**row, "url": _absolute(self, row["url"])} for row in rows]
