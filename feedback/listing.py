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
from typing import Any

from django.contrib.postgres.search import SearchQuery, TrigramSimilarity
from django.core import signing
from django.db.models import Count, Q, QuerySet, Window
from django.utils.dateparse import parse_datetime

from modelspec_site.audit.selectors import event_list
from revisions.models import ClauseText

from .api.pagination import keyset_after
from .models import Endorsement, FeedbackItem, Note, State, Transition, Visibility
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


def _item_queryset(viewer) -> QuerySet[FeedbackItem]:
    return (
        feedback_visible_to(viewer)
        .select_related("version", "version__spec", "clause_text", "example")
        .only(*PUBLIC_FIELDS, *_RELATED_FIELDS, *_EXAMPLE_FIELDS)
    )


def feedback_item_get(*, viewer, tracking_number: str) -> FeedbackItem | None:
    """One item the viewer may see, with its target; None when missing or invisible alike."""
    return _item_queryset(viewer).filter(tracking_number=tracking_number).first()


def feedback_item_for_token(*, tracking_number: str, token: str) -> FeedbackItem | None:
    """The item whose private follow token is `token` (the token is the proof of ownership,
    so visibility does not apply); None for a wrong token, compared in constant time."""
    import hmac

    item = (
        FeedbackItem.objects.select_related("version", "version__spec", "clause_text", "example")
        .only(*PUBLIC_FIELDS, "submitter_email", "follow_token_hash", *_RELATED_FIELDS,
              *_EXAMPLE_FIELDS)
        .filter(tracking_number=tracking_number)
        .first()
    )  # fmt: skip
    expected = item.follow_token_hash if item is not None else "0" * 64
    if not hmac.compare_digest(token_hash(token), expected) or item is None:
        return None
    return item


def endorsement_exists(*, item: FeedbackItem, user, browser_key: str) -> bool:
    if getattr(user, "is_authenticated", False):
        return Endorsement.objects.filter(item=item, user=user).exists()
    if not browser_key:
        return False
    return Endorsement.objects.filter(
        item=item, user__isnull=True, anonymous_key_hash=token_hash(browser_key)
    ).exists()


def feedback_for_clause_page(*, viewer, clause_text: ClauseText, limit: int = 20):
    """The newest items on one clause text and how many there are in all: one query."""
    rows = list(
        placed_for(viewer, feedback_visible_to(viewer))
        .filter(clause_text=clause_text)
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
