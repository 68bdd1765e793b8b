"""The staff triage queue (/staff/queue/), its bulk actions and saved views, and the labels page.

Only staff see these pages: a signed-in account without a staff role gets 404, an anonymous
visitor the sign-in page (two-factor sign-in is enforced by the staff middleware). Auditors see
everything and act on nothing: no action buttons, and their POSTs are refused with 403.

Bulk actions run each item through the same services as the item page (`item_assign`,
`item_labels_change`, `feedback_transition`), one transaction per item, so one refusal (a 409
because someone else moved the item first) is reported beside the others' success."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from modelspec_site.accounts.roles import (
    AUDITOR,
    EDITOR,
    MODERATOR,
    REVIEWER,
    TRIAGER,
    has_role,
    is_staff_member,
)
from revisions import selectors as revisions_selectors
from revisions.models import AuthorityLevel, Spec

from . import queue
from .errors import FeedbackError
from .models import AnchorOutcome, FeedbackItem, Kind, Label, Severity, State, Visibility
from .selectors import feedback_visible_to
from .transitions import feedback_transition, item_assign, item_labels_change, label_create
from .workflow import ACTIONS, ACTIVE_STATES

PAGE_SIZE = 50
MAX_BULK = 200
_TRACKING = re.compile(r"[A-Z]{2,8}-[0-9]{4}-[0-9]{5,9}")
# Bulk action -> (label, which service). The labels are drawn on the buttons.
BULK_ACTIONS = ("assign_me", "assign", "unassign", "label", "triage", "mark_spam")
ACTING_ROLES = (TRIAGER, REVIEWER, EDITOR, MODERATOR)


def staff_only(view):
    """Anonymous visitors go to sign in; signed-in non-staff get a 404 (the page does not
    exist for them)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff_member(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def can_act(user) -> bool:
    """Staff who may change items from the queue: anyone with a role other than auditor (the
    services then check each action). A superuser holds every role."""
    return has_role(user, *ACTING_ROLES)


def _refuse_readers(request: HttpRequest) -> None:
    if not can_act(request.user):
        raise PermissionDenied(_("Auditors read the queue; they do not act on it."))


def staff_item_url(tracking_number: str) -> str:
    try:
        return reverse("staff:item", kwargs={"tracking_number": tracking_number})
    except NoReverseMatch:  # the item page ships separately
        return f"/staff/items/{tracking_number}/"


_URL_SENTINEL = "ZZ-0000-00000"  # matches the tracking-number converter, never a real number


def _rows_prepare(items: list[FeedbackItem], *, now: dt.datetime) -> None:
    """What each row shows, computed once here rather than per row in the template: the item
    link (one reverse() for the page), the choice labels (`get_FOO_display` hashes every lazy
    label of the field on each call), the age and the overdue flag, and flat copies of the
    related values a row shows."""
    head, _sep, tail = staff_item_url(_URL_SENTINEL).partition(_URL_SENTINEL)
    states = {value: str(label) for value, label in State.choices}
    kinds = {value: str(label) for value, label in Kind.choices}
    severities = {value: str(label) for value, label in Severity.choices}
    cutoff = now - dt.timedelta(days=queue.ageing_days())
    select = _("Select %(number)s")
    for item in items:
        number = item.tracking_number
        item.staff_url = f"{head}{number}{tail}"
        item.select_label = select % {"number": number}
        item.state_label = states.get(item.state, item.state)
        item.kind_label = kinds.get(item.kind, item.kind)
        item.severity_label = severities.get(item.severity, item.severity)
        item.overdue = item.waiting_at <= cutoff
        item.waited = timesince(item.waiting_at, now)
        item.waiting_iso = localtime(item.waiting_at).isoformat()  # what |date:"c" shows
        # One lookup per value in the template instead of two or three (a fifth of its time).
        item.assignee_name = item.assignee.username if item.assignee_id else ""
        text = item.clause_text
        item.clause_number, item.clause_heading = text.number, text.heading
        item.clause_anchor, item.clause_authority = text.anchor, text.authority
        item.version_label = item.version.label
        item.label_names = [label.name for label in item.labels.all()]


# --- The queue --------------------------------------------------------------------------------


def _choices(request: HttpRequest) -> dict:
    """What the filter form and the bulk controls offer: a handful of small queries."""
    versions = revisions_selectors.versions_visible_to(request.user).order_by("-label")
    authorities = AuthorityLevel.objects.order_by("rank", "name").values_list("name", "rank")
    staff = (
        get_user_model()
        .objects.filter(
            Q(is_staff=True) | Q(is_superuser=True) | Q(groups__name__in=settings.STAFF_ROLES),
            is_active=True,
        )
        .order_by("username")
        .values_list("username", flat=True)
        .distinct()
    )
    return {
        "specs": list(Spec.objects.order_by("title").values_list("slug", "title")),
        "versions": list(dict.fromkeys(versions.values_list("label", flat=True))),
        "authorities": list(dict.fromkeys(name for name, _rank in authorities)),
        "ranks": sorted({rank for _name, rank in authorities}),
        "labels": list(Label.objects.order_by("name").only("id", "name")),
        "staff_names": list(staff),
        "kinds": Kind.choices,
        "states": State.choices,
        "visibilities": Visibility.choices,
        "reanchor_choices": [
            *AnchorOutcome.choices,
            ("none", _("Never carried forward")),
            (queue.REANCHOR_REVIEW, _("Needs a look (orphaned or low confidence)")),
            (queue.REANCHOR_REOPEN, _("Submitter asks to reopen")),
        ],
        "sorts": list(queue.SORT_LABELS.items()),
    }


def _state_choice(params: dict) -> str:
    """The state select's value for `params` ("active", "all", "closed" or one state)."""
    states = params["state"]
    if states is None:
        return "all"
    chosen = set(states)
    for group, members in queue.STATE_GROUPS.items():
        if members is not None and chosen == set(members):
            return group
    return states[0] if len(states) == 1 else ""


def _queue_context(request: HttpRequest, query: QueryDict, *, outcome=None) -> tuple[dict, int]:
    params, errors = queue.queue_parse(query)
    cursor = query.get("cursor", "")[:2000] or None
    page = queue.queue_page(viewer=request.user, params=params, cursor=cursor, page_size=PAGE_SIZE)
    base = reverse("staff:queue")
    current = queue.queue_query(params)

    def link(page_cursor: str | None) -> str | None:
        if page_cursor is None:
            return None
        extra = QueryDict(mutable=True)
        extra["cursor"] = page_cursor
        return f"{base}?{'&'.join(p for p in (current, extra.urlencode()) if p)}"

    now = timezone.now()
    _rows_prepare(page.items, now=now)
    context = {
        "page": page,
        "params": params,
        "errors": errors,
        "state_choice": _state_choice(params),
        "current_query": current,
        "page_query": "&".join(p for p in (current, f"cursor={cursor}" if cursor else "") if p),
        "next_url": link(page.next_cursor),
        "previous_url": link(page.previous_cursor),
        "ageing_days": queue.ageing_days(),
        "ageing_cutoff": now - dt.timedelta(days=queue.ageing_days()),
        "now": now,
        "can_act": can_act(request.user),
        "outcome": outcome,
        "saved_views": list(queue.saved_views_of(request.user)),
        "builtin_views": queue.BUILTIN_VIEWS,
        "shortcuts": [(a.shortcut, a.label) for a in ACTIONS.values() if a.shortcut],
        "active_states": sorted(ACTIVE_STATES),
        **_choices(request),
    }
    return context, (400 if errors else 200)


@staff_only
@require_GET
def queue_list(request: HttpRequest) -> HttpResponse:
    """The queue: filters, sorting, a page of rows with their age, bulk actions."""
    context, status = _queue_context(request, request.GET)
    partial = request.htmx and not request.htmx.history_restore_request
    template = "feedback/staff/queue.html#results" if partial else "feedback/staff/queue.html"
    # htmx swaps only 2xx: an htmx request with a bad filter gets the errors in a 200.
    return render(request, template, context, status=200 if partial else status)


# --- Bulk actions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    tracking_number: str
    ok: bool
    message: str
    status: int = 200


def _seen_states(post: QueryDict) -> dict[str, str]:
    """{tracking number: the state the page showed}, from the rows' hidden `seen` fields."""
    seen = {}
    for value in post.getlist("seen")[: MAX_BULK * 5]:
        number, _sep, state = value.partition(":")
        if _TRACKING.fullmatch(number) and state in State.values:
            seen[number] = state
    return seen


def _apply(request: HttpRequest, action: str, item: FeedbackItem, seen: str | None, target):
    user = request.user
    if action == "assign_me":
        item_assign(acting_user=user, item=item, assignee=user)
        return _("Assigned to you.")
    if action == "assign":
        item_assign(acting_user=user, item=item, assignee=target)
        return _("Assigned to %(name)s.") % {"name": target.get_username()}
    if action == "unassign":
        item_assign(acting_user=user, item=item, assignee=None)
        return _("Unassigned.")
    if action == "label":
        item_labels_change(acting_user=user, item=item, add=[target])
        return _("Labelled “%(label)s”.") % {"label": target.name}
    moved = feedback_transition(acting_user=user, item=item, action=action, expected_state=seen)
    return _("Now “%(state)s”.") % {"state": moved.get_state_display()}


def _bulk_target(request: HttpRequest, action: str):
    """The assignee or label a bulk action needs; FeedbackError when it is missing."""
    if action == "assign":
        name = request.POST.get("assignee", "").strip()
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None or not is_staff_member(user):
            raise FeedbackError(_("Choose a staff member to assign."), field="assignee")
        return user
    if action == "label":
        raw = request.POST.get("label", "")
        label = Label.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if label is None:
            raise FeedbackError(_("Choose a label to add."), field="label")
        return label
    return None


def bulk_run(request: HttpRequest, action: str, numbers: list[str]) -> list[Outcome]:
    """Each selected item through its service, in its own transaction."""
    target = _bulk_target(request, action)
    seen = _seen_states(request.POST)
    found = {
        item.tracking_number: item
        for item in feedback_visible_to(request.user).filter(tracking_number__in=numbers)
    }
    outcomes = []
    for number in numbers:
        item = found.get(number)
        if item is None:
            outcomes.append(Outcome(number, False, _("No such item."), 404))
            continue
        try:
            message = _apply(request, action, item, seen.get(number), target)
        except FeedbackError as exc:
            outcomes.append(Outcome(number, False, exc.message, exc.status))
        else:
            outcomes.append(Outcome(number, True, message))
    return outcomes


@staff_only
@require_POST
def queue_bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to the selected rows. htmx gets the refreshed list with a report per
    item; without JavaScript the report goes into messages and the queue is shown again."""
    _refuse_readers(request)
    query = QueryDict(request.POST.get("query", "")[:4000])
    action = request.POST.get("action", "")
    numbers = list(
        dict.fromkeys(n for n in request.POST.getlist("items") if _TRACKING.fullmatch(n))
    )[:MAX_BULK]
    problem = ""
    outcomes: list[Outcome] = []
    if action not in BULK_ACTIONS:
        problem = _("Choose an action.")
    elif not numbers:
        problem = _("Select at least one item.")
    else:
        try:
            outcomes = bulk_run(request, action, numbers)
        except FeedbackError as exc:
            problem = exc.message
    if request.htmx:
        context, _status = _queue_context(
            request, query, outcome={"problem": problem, "items": outcomes}
        )
        return render(request, "feedback/staff/queue.html#results", context)
    if problem:
        messages.error(request, problem)
    for outcome in outcomes:
        text = f"{outcome.tracking_number}: {outcome.message}"
        (messages.success if outcome.ok else messages.error)(request, text)
    return HttpResponseRedirect(_queue_url(query))


def _queue_url(query: QueryDict) -> str:
    params, _errors = queue.queue_parse(query)
    current = queue.queue_query(params)
    cursor = query.get("cursor", "")
    extra = QueryDict(mutable=True)
    if cursor:
        extra["cursor"] = cursor[:2000]
    joined = "&".join(p for p in (current, extra.urlencode()) if p)
    return reverse("staff:queue") + (f"?{joined}" if joined else "")


# --- Saved views ------------------------------------------------------------------------------


@staff_only
@require_POST
def queue_view_save(request: HttpRequest) -> HttpResponse:
    """Save the filters shown (the `query` field) under a name."""
    query = QueryDict(request.POST.get("query", "")[:4000])
    params, errors = queue.queue_parse(query)
    if errors:
        messages.error(request, _("Fix the filters before saving them."))
        return HttpResponseRedirect(reverse("staff:queue"))
    try:
        view = queue.saved_view_save(
            acting_user=request.user, name=request.POST.get("name", ""), params=params
        )
    except FeedbackError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(_queue_url(query))
    messages.success(request, _("Saved the view “%(name)s”.") % {"name": view.name})
    return HttpResponseRedirect(_queue_url(QueryDict(view.query)))


@staff_only
@require_POST
def queue_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    if not queue.saved_view_delete(acting_user=request.user, view_id=view_id):
        raise Http404
    messages.success(request, _("Deleted the saved view."))
    return HttpResponseRedirect(reverse("staff:queue"))


# --- Labels -----------------------------------------------------------------------------------


@staff_only
@require_http_methods(["GET", "POST"])
def labels(request: HttpRequest) -> HttpResponse:
    """Every label with how many items carry it; staff who label items create new ones."""
    error, values, status = None, {"name": "", "description": ""}, 200
    if request.method == "POST":
        _refuse_readers(request)
        values = {k: request.POST.get(k, "")[:300] for k in values}
        try:
            label = label_create(acting_user=request.user, **values)
        except FeedbackError as exc:
            if exc.status == 403:
                raise PermissionDenied(exc.message) from None
            error, status = exc, 400
        else:
            messages.success(request, _("Created the label “%(name)s”.") % {"name": label.name})
            return HttpResponseRedirect(reverse("staff:labels"))
    rows = Label.objects.annotate(item_count=Count("items")).order_by("name")
    context = {
        "labels": rows,
        "error": error,
        "values": values,
        "can_create": has_role(request.user, TRIAGER, REVIEWER, EDITOR),
        "auditor_only": has_role(request.user, AUDITOR) and not can_act(request.user),
    }
    return render(request, "feedback/staff/queue_labels.html", context, status=status)
