"""The staff triage queue: its filters, sorts and pages, pure of HTTP.

`queue_parse` turns a query (a QueryDict, or any mapping of strings or lists of strings) into
clean parameters and errors by field; `queue_filter` applies them to a queryset of items;
`queue_queryset` starts from what the viewer may see (`selectors.feedback_visible_to`) and
orders it; `queue_page` cuts one keyset page of it. The HTML queue (`views_queue`) and the
staff filters of `GET /api/v1/feedback/` (`api.selectors`) both read through here, so a filter
means the same thing in both.

The re-anchoring filter (`reanchor`) takes a stored outcome, "none" (never carried forward),
"review" (the built-in "Re-anchoring needs a look": orphans and items re-found with less
confidence than FEEDBACK_REANCHOR_REVIEW_BELOW) or "reopen" (closed items whose submitter
answered that the new text does not resolve their concern, unless reviewers dismissed that
answer: `reopen_requests`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models import When as CaseWhen
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from revisions.models import ClauseText

from .api.pagination import keyset_after
from .errors import FeedbackError
from .models import (
    AnchorOutcome,
    FeedbackItem,
    Kind,
    Label,
    SavedView,
    Severity,
    State,
    Visibility,
)
from .reopen_requests import reopen_requested
from .selectors import feedback_visible_to, viewer_is_staff
from .workflow import ACTIVE_STATES, CLOSED_STATES

# The filters, in the order the page shows them.
QUEUE_FILTERS: tuple[str, ...] = (
    "state", "kind", "spec", "version", "clause", "authority", "rank", "assignee", "label",
    "visibility", "has_passage", "endorsements", "age", "reanchor",
)  # fmt: skip
# The re-anchoring filter's values: the stored outcomes, and "none" for never carried forward.
REANCHOR_REVIEW, REANCHOR_REOPEN = "review", "reopen"
REANCHOR_VALUES = (*AnchorOutcome.values, "none", REANCHOR_REVIEW, REANCHOR_REOPEN)
# The built-in views offered above the saved ones: (name, query string).
BUILTIN_VIEWS = (
    (gettext_lazy("Re-anchoring needs a look"), "reanchor=review"),
    (gettext_lazy("Reopening requested after a new version"), "state=closed&reanchor=reopen"),
)


def reanchor_review_below() -> int:
    return int(getattr(settings, "FEEDBACK_REANCHOR_REVIEW_BELOW", 60))


# Filters that take several values (repeated, or separated by commas): any of them matches,
# except labels, which must all be on the item.
MULTI = frozenset({"state", "kind", "label"})

# sort name -> ordering. Every ordering ends on the unique tracking number, so pages are
# stable. `waiting_at` is when the item entered its state (its creation if it never moved).
SORTS: dict[str, tuple[str, ...]] = {
    "waiting": ("waiting_at", "tracking_number"),
    "newest": ("-created_at", "-tracking_number"),
    "endorsed": ("-endorsement_count", "waiting_at", "tracking_number"),
    "severity": ("-severity_rank", "waiting_at", "tracking_number"),
}
DEFAULT_SORT = "waiting"
SORT_LABELS = {
    "waiting": gettext_lazy("Oldest waiting first"),
    "newest": gettext_lazy("Newest first"),
    "endorsed": gettext_lazy("Most endorsed"),
    "severity": gettext_lazy("Most severe first"),
}
# Groups of states a filter may name instead of listing them.
STATE_GROUPS: dict[str, frozenset[str] | None] = {
    "active": ACTIVE_STATES,
    "closed": CLOSED_STATES,
    "all": None,
}
ASSIGNEE_ME, ASSIGNEE_NONE = "me", "none"
SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}

_SLUG = re.compile(r"[-A-Za-z0-9_]{1,64}")
_ANCHOR = re.compile(r"[-A-Za-z0-9_.:]{1,128}")
_USERNAME = re.compile(r"[\w.@+-]{1,150}")
_YES = {"yes", "true", "1"}
_NO = {"no", "false", "0"}
MAX_VALUES = 20  # values of one multi-valued filter
MAX_NUMBER = 100_000

# What a queue row reads: no bodies, no private fields beyond what staff may see anyway.
ROW_FIELDS = (
    "id", "tracking_number", "spec_id", "version_id", "clause_id", "clause_text_id",
    "example_id", "kind", "severity", "summary", "state", "visibility", "hidden",
    "endorsement_count", "created_at", "state_changed_at", "assignee_id", "position_start",
    "spec__slug", "version__label", "version__spec_id", "clause_text__anchor",
    "clause_text__heading", "clause_text__number", "clause_text__authority",
    "clause_text__authority_rank", "clause_text__version_id", "assignee__username",
)  # fmt: skip


def ageing_days() -> int:
    return int(getattr(settings, "FEEDBACK_AGEING_DAYS", 14))


def default_params() -> dict[str, Any]:
    return {
        "state": tuple(sorted(ACTIVE_STATES)),
        "kind": (),
        "spec": "",
        "version": "",
        "clause": "",
        "authority": "",
        "rank": None,
        "assignee": "",
        "label": (),
        "visibility": "",
        "has_passage": None,
        "endorsements": None,
        "age": None,
        "reanchor": "",
        "sort": DEFAULT_SORT,
    }


# --- Parsing ----------------------------------------------------------------------------------


def _values(query: Mapping[str, Any], name: str) -> list[str]:
    """Every non-empty value given for `name`, commas splitting multi-valued filters."""
    if hasattr(query, "getlist"):
        raw = query.getlist(name)
    else:
        value = query.get(name)
        raw = [] if value is None else (list(value) if isinstance(value, list | tuple) else [value])
    out: list[str] = []
    for value in raw:
        if not isinstance(value, str):
            value = str(value)
        parts = value.split(",") if name in MULTI else [value]
        out += [part.strip() for part in parts if part.strip()]
    return out


def _number(value: str) -> int | None:
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        return None
    number = int(value)
    return number if number <= MAX_NUMBER else None


def queue_parse(
    querydict: Mapping[str, Any], *, default_states: Iterable[str] | None = ACTIVE_STATES
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(clean parameters, errors by field). Every filter in QUEUE_FILTERS and `sort` is in the
    parameters; a value that is not allowed is an error naming the field, never an exception.
    Without a `state` filter, the queue shows `default_states` (None: every state)."""
    params = default_params()
    params["state"] = tuple(sorted(default_states)) if default_states is not None else None
    errors: dict[str, list[str]] = {}

    def error(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    def single(name: str) -> str:
        values = _values(querydict, name)
        if len(values) > 1:
            error(name, _("Give one value."))
            return ""
        return values[0] if values else ""

    states = _values(querydict, "state")
    if len(states) > MAX_VALUES:
        error("state", _("Too many values."))
    elif states:
        chosen: set[str] = set()
        for value in states:
            if value in STATE_GROUPS:
                group = STATE_GROUPS[value]
                if group is None:
                    chosen = set(State.values)
                    break
                chosen |= set(group)
            elif value in State.values:
                chosen.add(value)
            else:
                error("state", _("Unknown state."))
        everything = chosen == set(State.values)
        params["state"] = None if everything else tuple(sorted(chosen))

    kinds = _values(querydict, "kind")
    if len(kinds) > MAX_VALUES:
        error("kind", _("Too many values."))
    elif any(kind not in Kind.values for kind in kinds):
        error("kind", _("Unknown kind."))
    else:
        params["kind"] = tuple(sorted(set(kinds)))

    for name, pattern in (("spec", _SLUG), ("version", _SLUG), ("clause", _ANCHOR),
                          ("authority", _SLUG)):  # fmt: skip
        value = single(name)
        if value and not pattern.fullmatch(value):
            error(name, _("This is not a valid value."))
        elif value:
            params[name] = value

    for name in ("rank", "endorsements", "age"):
        value = single(name)
        if not value:
            continue
        number = _number(value)
        if number is None:
            error(name, _("Give a whole number from 0 to %(max)s.") % {"max": MAX_NUMBER})
        else:
            params[name] = number

    assignee = single("assignee")
    if assignee and not _USERNAME.fullmatch(assignee):
        error("assignee", _("Give a username, “me” or “none”."))
    elif assignee:
        params["assignee"] = assignee

    labels = _values(querydict, "label")
    if len(labels) > MAX_VALUES:
        error("label", _("Too many values."))
    elif any(len(label) > 50 for label in labels):
        error("label", _("This is not a valid label."))
    else:
        params["label"] = tuple(dict.fromkeys(labels))

    visibility = single("visibility")
    if visibility and visibility not in Visibility.values:
        error("visibility", _("Choose public or internal."))
    elif visibility:
        params["visibility"] = visibility

    passage = single("has_passage").lower()
    if passage in _YES:
        params["has_passage"] = True
    elif passage in _NO:
        params["has_passage"] = False
    elif passage:
        error("has_passage", _("Choose yes or no."))

    reanchor = single("reanchor").lower()
    if reanchor and reanchor not in REANCHOR_VALUES:
        error(
            "reanchor", _("Choose anchored, moved, text_changed, orphaned, none, review or reopen.")
        )
    elif reanchor:
        params["reanchor"] = reanchor

    sort = single("sort")
    if sort and sort not in SORTS:
        error("sort", _("Unknown sort."))
    elif sort:
        params["sort"] = sort
    return params, errors


def queue_query(params: Mapping[str, Any]) -> str:
    """The query string that gives `params` back through `queue_parse` (defaults left out)."""
    defaults = default_params()
    pairs: list[tuple[str, str]] = []
    for name in (*QUEUE_FILTERS, "sort"):
        value = params.get(name, defaults[name])
        if name == "state":
            if value is None:
                pairs.append(("state", "all"))
            elif tuple(sorted(value)) != defaults["state"]:
                pairs += [("state", state) for state in sorted(value)] or [("state", "all")]
            continue
        if value in (None, "", ()) or value == defaults[name]:
            continue
        if name in MULTI:
            pairs += [(name, v) for v in value]
        elif isinstance(value, bool):
            pairs.append((name, "yes" if value else "no"))
        else:
            pairs.append((name, str(value)))
    return urlencode(pairs)


# --- The queryset -----------------------------------------------------------------------------


def waiting_since() -> Coalesce:
    return Coalesce("state_changed_at", "created_at")


def severity_rank() -> Case:
    return Case(
        *[CaseWhen(severity=name, then=Value(rank)) for name, rank in SEVERITY_RANK.items()],
        default=Value(0),
        output_field=IntegerField(),
    )


def queue_annotate(items: QuerySet[FeedbackItem]) -> QuerySet[FeedbackItem]:
    """What the sorts read: `waiting_at` and `severity_rank`."""
    return items.annotate(waiting_at=waiting_since(), severity_rank=severity_rank())


def queue_filter(
    items: QuerySet[FeedbackItem], *, viewer, params: Mapping[str, Any], now=None
) -> QuerySet[FeedbackItem]:
    """`items` narrowed by the queue's filters (staff semantics: hidden items are items)."""
    if params.get("state") is not None:
        items = items.filter(state__in=params["state"])
    if params.get("kind"):
        items = items.filter(kind__in=params["kind"])
    if params.get("clause"):
        # The anchor's clause texts first (one small query, made whenever the filter is
        # given): with the ids as constants PostgreSQL sees how many items a rare clause has
        # and reads its index, instead of walking the sort order through a join
        # (bench/triage_queue.py, "clause (rare)"). An item's clause text is in the item's
        # version (feedback_submit looks it up there), so the spec and version filters
        # narrow the clause texts; on the items they would only add a large bitmap.
        texts = ClauseText.objects.filter(anchor=params["clause"])
        if params.get("spec"):
            texts = texts.filter(version__spec__slug=params["spec"])
        if params.get("version"):
            texts = texts.filter(version__label=params["version"])
        items = items.filter(clause_text_id__in=list(texts.values_list("id", flat=True)))
    else:
        if params.get("spec"):
            items = items.filter(spec__slug=params["spec"])
        if params.get("version"):
            items = items.filter(version__label=params["version"])
    if params.get("authority"):
        items = items.filter(clause_text__authority=params["authority"])
    if params.get("rank") is not None:
        items = items.filter(clause_text__authority_rank=params["rank"])
    assignee = params.get("assignee")
    if assignee == ASSIGNEE_NONE:
        items = items.filter(assignee__isnull=True)
    elif assignee == ASSIGNEE_ME:
        me = viewer.pk if getattr(viewer, "is_authenticated", False) else None
        items = items.filter(assignee_id=me) if me else items.none()
    elif assignee:
        items = items.filter(assignee__username=assignee)
    through = FeedbackItem.labels.through
    for name in params.get("label") or ():
        items = items.filter(
            Exists(through.objects.filter(feedbackitem_id=OuterRef("pk"), label__name=name))
        )
    if params.get("visibility"):
        items = items.filter(visibility=params["visibility"])
    if params.get("has_passage") is not None:
        with_passage = Q(position_start__isnull=False)
        items = items.filter(with_passage) if params["has_passage"] else items.exclude(with_passage)
    if params.get("endorsements") is not None:
        items = items.filter(endorsement_count__gte=params["endorsements"])
    if params.get("reanchor") == REANCHOR_REVIEW:
        items = items.filter(
            Q(anchor_outcome=AnchorOutcome.ORPHANED)
            | Q(anchor_confidence__lt=reanchor_review_below())
        )
    elif params.get("reanchor") == REANCHOR_REOPEN:
        items = items.filter(
            reopen_requested(),  # a "no" not dismissed since (feedback.reopen_requests)
            state__in=CLOSED_STATES,
        )
    elif params.get("reanchor"):
        outcome = "" if params["reanchor"] == "none" else params["reanchor"]
        items = items.filter(anchor_outcome=outcome)
    if params.get("age") is not None:
        cut = (now or timezone.now()) - dt.timedelta(days=params["age"])
        # Waiting since `cut` or earlier. A state changes after the item was created, so the
        # item was created by then too: that bound lets the newest-first index seek past the
        # recent items instead of reading and dropping them.
        items = items.filter(
            Q(state_changed_at__lte=cut) | Q(state_changed_at__isnull=True),
            created_at__lte=cut,
        )
    return items


def queue_queryset(*, viewer, params: Mapping[str, Any]) -> QuerySet[FeedbackItem]:
    """The queue for `viewer`: visible items, filtered, sorted (ties on the tracking number),
    with their target, assignee and labels loaded in two queries whatever the page size.
    Only staff have a queue."""
    items = feedback_visible_to(viewer)
    if not viewer_is_staff(viewer):
        return items.none()
    sort = params.get("sort") or DEFAULT_SORT
    return (
        queue_annotate(queue_filter(items, viewer=viewer, params=params))
        .select_related("spec", "version", "clause_text", "assignee")
        .only(*ROW_FIELDS)
        .prefetch_related(Prefetch("labels", queryset=Label.objects.only("id", "name")))
        .order_by(*SORTS[sort])
    )


# --- Pages ------------------------------------------------------------------------------------

_CURSOR_SALT = "feedback.queue.cursor"


@dataclass
class QueuePage:
    items: list[FeedbackItem]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    cursor_invalid: bool = False


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def cursor_make(sort: str, item: FeedbackItem, direction: str) -> str:
    values = [_encode(getattr(item, name.lstrip("-"))) for name in SORTS[sort]]
    return signing.dumps([sort, direction, values], salt=_CURSOR_SALT, compress=True)


def cursor_read(cursor: str, sort: str) -> tuple[str, list] | None:
    """(direction, key) of a cursor made for this sort; None when it is not one of ours."""
    try:
        cursor_sort, direction, values = signing.loads(cursor, salt=_CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    names = SORTS.get(sort, ())
    if (
        cursor_sort != sort
        or direction not in ("after", "before")
        or not isinstance(values, list)
        or len(values) != len(names)
    ):
        return None
    key = []
    for name, value in zip(names, values, strict=True):
        column = name.lstrip("-")
        if column.endswith("_at"):
            value = parse_datetime(value) if isinstance(value, str) else None
        elif column == "tracking_number":
            value = value if isinstance(value, str) else None
        elif not isinstance(value, int) or isinstance(value, bool):
            value = None
        if value is None:
            return None
        key.append(value)
    return direction, key


def _beyond(ordering: tuple[str, ...], key: list, *, after: bool) -> Q:
    """Rows strictly after (or before) `key` in `ordering`: for the same-direction sorts a
    row-value comparison the sort's index seeks to (see `api.pagination.keyset_after`)."""
    return keyset_after(ordering, key, backwards=not after)


def queue_page(
    *, viewer, params: Mapping[str, Any], cursor: str | None = None, page_size: int = 50
) -> QueuePage:
    """One page of the queue, by keyset: two queries (rows, their labels) whatever the page
    number or size. A cursor that is not valid for this sort starts from the first page."""
    sort = params.get("sort") or DEFAULT_SORT
    ordering = SORTS[sort]
    items = queue_queryset(viewer=viewer, params=params)
    decoded = cursor_read(cursor, sort) if cursor else None
    backwards = decoded is not None and decoded[0] == "before"
    if decoded is not None:
        items = items.filter(_beyond(ordering, decoded[1], after=not backwards))
    if backwards:
        items = items.order_by(*(n[1:] if n.startswith("-") else f"-{n}" for n in ordering))
    rows = list(items[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    page = QueuePage(items=rows, cursor_invalid=bool(cursor) and decoded is None)
    if rows:
        if more or backwards:
            page.next_cursor = cursor_make(sort, rows[-1], "after")
        if (more and backwards) or (decoded is not None and not backwards):
            page.previous_cursor = cursor_make(sort, rows[0], "before")
    return page


# --- Saved views (each staff member's own named filters) ---------------------------------------


def saved_views_of(user) -> QuerySet[SavedView]:
    return SavedView.objects.filter(user=user).order_by("name")


def saved_view_save(*, acting_user, name: str, params: Mapping[str, Any]) -> SavedView:
    """Keep the filters `params` under `name` for `acting_user` (replacing a view of the same
    name). Personal reading preferences: no ledger event."""
    if not viewer_is_staff(acting_user):
        raise FeedbackError(_("Only staff have a triage queue."), field="name")
    name = " ".join((name or "").split())
    if not name or len(name) > 60:
        raise FeedbackError(_("Give the view a name of 1 to 60 characters."), field="name")
    query = queue_query(params)
    if len(query) > 1000:
        raise FeedbackError(_("These filters are too long to save."), field="name")
    with transaction.atomic():
        view, _created = SavedView.objects.update_or_create(
            user=acting_user, name=name, defaults={"query": query}
        )
    return view


def saved_view_delete(*, acting_user, view_id: int) -> bool:
    """Delete one of `acting_user`'s own views; False when they have none with that id."""
    deleted, _detail = SavedView.objects.filter(user=acting_user, pk=view_id).delete()
    return bool(deleted)
