"""Reading feedback for the HTML pages: one item and its public history, the tracker's filtered
and cursor-paginated list, similar items on a clause, and the per-clause counts of the reader.

Every queryset here starts from `selectors.feedback_visible_to(viewer)` and then loads only
fields named below, all of them public ones (checked at import), so no page can reach a
submitter's e-mail address or token hash by accident. Filters and sort keys are fixed
allowlists. The public never searches, filters or sorts on the content of items a moderator
hid: those show only their number, state and the public reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.contrib.postgres.search import SearchQuery, TrigramSimilarity
from django.core import signing
from django.db.models import Case, Count, F, Q, QuerySet, When, Window
from django.utils.dateparse import parse_datetime

from modelspec_site.audit.selectors import event_list
from revisions.models import ClauseText

from .api.pagination import keyset_after
from .models import Endorsement, FeedbackItem, Note, Reanchoring, State, Transition, Visibility
from .selectors import PUBLIC_FIELDS, feedback_visible_to, placed_for, viewer_is_staff
from .services import token_hash

# What the pages read from the related version, spec, clause text and example.
_RELATED_FIELDS = (
    "version__label", "version__state", "version__spec_id", "version__spec__slug",
    "version__spec__title", "version__comment_opens_at", "version__comment_closes_at",
    "clause_text__anchor", "clause_text__heading", "clause_text__number",
    "clause_text__authority", "clause_text__version_id", "clause_text__clause_id",
)  # fmt: skip
_EXAMPLE_FIELDS = ("example__slug", "example__title", "example__title_html")
# The tracker's rows: no bodies.
LIST_FIELDS = (
    "id", "tracking_number", "spec_id", "version_id", "clause_id", "clause_text_id", "kind",
    "severity", "summary", "state", "visibility", "hidden", "hidden_reason",
    "endorsement_count", "created_at",
)  # fmt: skip
assert set(LIST_FIELDS) <= set(PUBLIC_FIELDS)

PAGE_SIZE = 25
SIMILAR_LIMIT = 5
SEARCH_CONFIG = "english"


# Where an item stands now (carried forward by later versions): public facts of public items.
STANDING_FIELDS = (
    "current_text_id", "current_start", "current_end", "anchor_outcome", "anchor_confidence",
)  # fmt: skip


def _item_queryset(viewer) -> QuerySet[FeedbackItem]:
    return (
        feedback_visible_to(viewer)
        .select_related("version", "version__spec", "clause_text", "example")
        .only(*PUBLIC_FIELDS, *STANDING_FIELDS, *_RELATED_FIELDS, *_EXAMPLE_FIELDS)
    )


def feedback_item_get(*, viewer, tracking_number: str) -> FeedbackItem | None:
    """One item the viewer may see, with its target; None when missing or invisible alike.
    `item.standing.value` tells where it stands now (read on first use: one query)."""
    return _with_standing(_item_queryset(viewer).filter(tracking_number=tracking_number).first())


# --- Where an item stands after new versions ---


@dataclass(frozen=True)
class Standing:
    """The latest carry-forward of an item: the version and clause it stands on now, what
    re-anchoring found, and for an incorporated item the change of its clause."""

    version_label: str
    spec_slug: str
    clause_anchor: str  # empty when its clause was removed
    clause_number: str
    clause_heading: str
    outcome: str
    outcome_label: str
    confidence: int
    quote: str
    incorporated: bool
    diff_html: str
    reanchoring_id: int
    response: str


class _LazyStanding:
    def __init__(self, item: FeedbackItem):
        self._item = item

    @cached_property
    def value(self) -> Standing | None:
        return item_standing(self._item)


def _with_standing(item: FeedbackItem | None) -> FeedbackItem | None:
    if item is not None:
        item.standing = _LazyStanding(item)
    return item


def item_standing(item: FeedbackItem) -> Standing | None:
    """Where `item` (one the viewer may see) stands now: None while it was never carried
    forward. One query (the latest Reanchoring with its texts)."""
    row = (
        Reanchoring.objects.filter(item_id=item.pk)
        .select_related("version", "version__spec", "from_text", "to_text")
        .only(
            "id", "outcome", "confidence", "quote_exact", "response", "version__label",
            "version__spec__slug", "from_text__plain_text", "to_text__anchor",
            "to_text__number", "to_text__heading", "to_text__plain_text",
        )
        .order_by("-created_at", "-id")
        .first()
    )  # fmt: skip
    if row is None:
        return None
    incorporated = item.state == State.INCORPORATED
    diff_html = ""
    if incorporated and row.to_text_id is not None:
        from revisions.diffing import render_inline_diff, word_diff

        diff_html = render_inline_diff(word_diff(row.from_text.plain_text, row.to_text.plain_text))
    from .messaging import outcome_words

    text = row.to_text
    return Standing(
        version_label=row.version.label,
        spec_slug=row.version.spec.slug,
        clause_anchor=text.anchor if text else "",
        clause_number=text.number if text else "",
        clause_heading=text.heading if text else "",
        outcome=row.outcome,
        outcome_label=outcome_words(row.outcome),
        confidence=row.confidence,
        quote=row.quote_exact,
        incorporated=incorporated,
        diff_html=diff_html,
        reanchoring_id=row.pk,
        response=row.response,
    )


def feedback_item_for_token(*, tracking_number: str, token: str) -> FeedbackItem | None:
    """The item whose private follow token is `token` (the token is the proof of ownership,
    so visibility does not apply); None for a wrong token, compared in constant time."""
    import hmac

    item = (
        FeedbackItem.objects.select_related("version", "version__spec", "clause_text", "example")
        .only(*PUBLIC_FIELDS, "submitter_email", "follow_token_hash", *STANDING_FIELDS,
              *_RELATED_FIELDS, *_EXAMPLE_FIELDS)
        .filter(tracking_number=tracking_number)
        .first()
    )  # fmt: skip
    expected = item.follow_token_hash if item is not None else "0" * 64
    if not hmac.compare_digest(token_hash(token), expected) or item is None:
        return None
    return _with_standing(item)


def endorsement_exists(*, item: FeedbackItem, user, browser_key: str) -> bool:
    if getattr(user, "is_authenticated", False):
        return Endorsement.objects.filter(item=item, user=user).exists()
    if not browser_key:
        return False
    return Endorsement.objects.filter(
        item=item, user__isnull=True, anonymous_key_hash=token_hash(browser_key)
    ).exists()


def feedback_for_clause_page(*, viewer, clause_text: ClauseText, limit: int = 20):
    """The newest items on one clause text (received on it, or carried to it by publishing)
    and how many there are in all: one query."""
    rows = list(
        placed_for(viewer, feedback_visible_to(viewer))
        .filter(Q(clause_text=clause_text) | Q(current_text=clause_text))
        .only(*LIST_FIELDS)
        .annotate(total=Window(Count("id")))
        .order_by("-created_at", "-id")[:limit]
    )
    return rows, (rows[0].total if rows else 0)


def similar_feedback(*, viewer, clause_text: ClauseText, text: str) -> list[FeedbackItem]:
    """Public items on the same clause (in any version) whose summary looks like `text`:
    trigram similarity on the summary, or a full-text match."""
    text = " ".join(text.split())[:200]
    if len(text) < 3:
        return []
    query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    return list(
        feedback_visible_to(viewer)
        .filter(clause_id=clause_text.clause_id, visibility=Visibility.PUBLIC, hidden=False)
        .exclude(state=State.SPAM)
        .select_related("version")
        .only(*LIST_FIELDS, "version__label", "version__spec_id")
        .annotate(similarity=TrigramSimilarity("summary", text))
        .filter(Q(similarity__gte=0.2) | Q(search=query))
        .order_by("-similarity", "-endorsement_count", "-id")[:SIMILAR_LIMIT]
    )


# --- The tracker ---

# sort name -> ordering; cursors hold the values of these fields, in this order.
# The tie-breaker is the (public, unique) tracking number, never the row id: ids count internal
# items too, so a cursor carrying one would reveal that internal items exist.
SORTS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-tracking_number"),
    "oldest": ("created_at", "tracking_number"),
    "endorsed": ("-endorsement_count", "-created_at", "-tracking_number"),
}
_CURSOR_SALT = "feedback.tracker.cursor"


@dataclass(frozen=True)
class TrackerFilters:
    spec: str = ""
    version: str = ""
    clause: str = ""
    kind: str = ""
    state: str = ""
    authority: str = ""
    q: str = ""
    sort: str = "newest"

    @property
    def narrows_by_content(self) -> bool:
        return bool(self.version or self.clause or self.kind or self.authority or self.q)


@dataclass
class TrackerPage:
    items: list[FeedbackItem]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _cursor_make(sort: str, item: FeedbackItem, direction: str) -> str:
    values = [_encode(getattr(item, name.lstrip("-"))) for name in SORTS[sort]]
    return signing.dumps([sort, direction, values], salt=_CURSOR_SALT, compress=True)


def _cursor_read(cursor: str, sort: str) -> tuple[str, list] | None:
    """(direction, values) of a cursor made for this sort; None when it is not one of ours."""
    try:
        cursor_sort, direction, values = signing.loads(cursor, salt=_CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if cursor_sort != sort or direction not in ("after", "before"):
        return None
    names = SORTS[sort]
    if not isinstance(values, list) or len(values) != len(names):
        return None
    parsed = []
    for name, value in zip(names, values, strict=True):
        column = name.lstrip("-")
        expected = {"tracking_number": str, "endorsement_count": int}.get(column)
        if column == "created_at":
            value = parse_datetime(value) if isinstance(value, str) else None
        elif expected is not None and not isinstance(value, expected):
            return None
        if value is None or isinstance(value, bool):
            return None
        parsed.append(value)
    return direction, parsed


def _keyset(ordering: tuple[str, ...], values: list, *, after: bool) -> Q:
    """Rows strictly after (or before) `values` in `ordering`: a row-value comparison that the
    sort's index serves as a seek (see `api.pagination.keyset_after`)."""
    return keyset_after(ordering, values, backwards=not after)


def tracker_page(*, viewer, filters: TrackerFilters, cursor: str = "") -> TrackerPage:
    """One page of the tracker: a constant number of queries (one) whatever the data."""
    staff = viewer_is_staff(viewer)
    queryset = feedback_visible_to(viewer)
    if not staff and (filters.narrows_by_content or filters.sort == "endorsed"):
        # Filtering, searching or ranking by what a moderator withdrew would reveal it.
        queryset = queryset.filter(hidden=False)
    if filters.spec:
        queryset = queryset.filter(version__spec__slug=filters.spec)
    if filters.version:
        queryset = queryset.filter(version__label=filters.version)
    if filters.clause:
        queryset = queryset.filter(clause_text__anchor=filters.clause)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.authority:
        queryset = queryset.filter(clause_text__authority=filters.authority)
    if filters.q:
        queryset = queryset.filter(
            search=SearchQuery(filters.q, search_type="websearch", config=SEARCH_CONFIG)
        )
    ordering = SORTS[filters.sort]
    decoded = _cursor_read(cursor, filters.sort) if cursor else None
    backwards = decoded is not None and decoded[0] == "before"
    if decoded is not None:
        queryset = queryset.filter(_keyset(ordering, decoded[1], after=not backwards))
    if backwards:
        ordering = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)
    rows = list(
        queryset.select_related("version", "version__spec", "clause_text")
        .only(*LIST_FIELDS, *_RELATED_FIELDS)
        .order_by(*ordering)[: PAGE_SIZE + 1]
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if backwards:
        rows.reverse()
    page = TrackerPage(items=rows)
    if rows:
        has_next = True if backwards else more
        has_previous = more if backwards else decoded is not None
        if has_next:
            page.next_cursor = _cursor_make(filters.sort, rows[-1], "after")
        if has_previous:
            page.previous_cursor = _cursor_make(filters.sort, rows[0], "before")
    return page


# --- An item's public history ---


@dataclass(frozen=True)
class PublicHistory:
    """What the public may read of what happened to an item: its moves through the workflow
    with their public rationale, public replies and the submitter's replies, and for each
    "marked as duplicate" move the original's tracking number. Never internal notes, reviewers'
    positions, prepared decisions, labels, the assignee or who acted."""

    transitions: list[Transition]
    replies: list[Note]
    duplicate_targets: dict[int, str]  # Transition pk -> tracking number of the original


def item_public_history(*, viewer, item: FeedbackItem) -> PublicHistory:
    """For an item the viewer may see (the caller found it through `feedback_visible_to`):
    three small queries at most, whatever the item's history."""
    transitions = list(
        Transition.objects.filter(item=item)
        .only("id", "action", "from_state", "to_state", "rationale", "event_seq", "created_at")
        .order_by("created_at", "id")
    )
    replies = list(
        Note.objects.filter(item=item, kind__in=(Note.Kind.PUBLIC_REPLY, Note.Kind.SUBMITTER_REPLY))
        .only("id", "kind", "body", "created_at")
        .order_by("created_at", "id")
    )
    seqs = {t.event_seq: t.pk for t in transitions if t.action == "mark_duplicate" and t.event_seq}
    targets: dict[int, str] = {}
    if seqs:
        for seq, data in event_list(viewer=viewer).filter(seq__in=seqs).values_list("seq", "data"):
            number = data.get("duplicate_of") if isinstance(data, dict) else None
            if isinstance(number, str):
                targets[seqs[seq]] = number
        visible = set(
            feedback_visible_to(viewer)
            .filter(tracking_number__in=set(targets.values()))
            .values_list("tracking_number", flat=True)
        )
        targets = {pk: number for pk, number in targets.items() if number in visible}
    return PublicHistory(transitions, replies, targets)


def feedback_counts_by_standing(*, viewer, clause_text_ids) -> dict[int, int]:
    """{clause text id: items the viewer may see} for these clause texts (one version's):
    items received on each, and items carried to it by publishing (standing on it now).
    One query, served by the indexes on `clause_text` and `current_text`."""
    ids = list(clause_text_ids)
    if not ids:
        return {}
    rows = (
        placed_for(viewer, feedback_visible_to(viewer))
        .filter(Q(clause_text_id__in=ids) | Q(current_text_id__in=ids))
        .order_by()
        .annotate(
            at=Case(
                When(clause_text_id__in=ids, then=F("clause_text_id")),
                default=F("current_text_id"),
            )
        )
        .values("at")
        .annotate(n=Count("id"))
    )
    return {row["at"]: row["n"] for row in rows}
