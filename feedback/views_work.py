"""The staff item page, /staff/items/<tracking number>/: where staff work one item.

Every button comes from the workflow table (`workflow.actions_for` for the viewer's roles); each
form posts to one thin view that calls one service of `feedback.transitions` and maps its
refusal to the field it names (400), a conflict (409: a stale form, or accepting before the
approval rule is met) or a refusal (403). Nothing here decides who may do what.

Without JavaScript every form is a plain POST answered by a redirect to the page (or the page
again, with the errors and the right status). With htmx, notes, replies, assignment, labels and
positions update in place: the same view renders that `{% partialdef %}` of the page, always
with status 200 (htmx swaps only 2xx), errors included.

Who sees it: staff only. Anonymous visitors are sent to sign in; signed-in accounts without a
staff role get the same 404 as for a missing item. Auditors (and staff without a working role)
see everything read-only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from modelspec_site.accounts.roles import (
    EDITOR,
    MODERATOR,
    REVIEWER,
    TRIAGER,
    has_role,
    is_staff_member,
)

from . import workflow
from .errors import FeedbackError
from .forms_work import (
    PREPARABLE,
    AssignForm,
    LabelsForm,
    NoteForm,
    PositionForm,
    PrepareForm,
    TransitionForm,
)
from .models import (
    Decision,
    FeedbackItem,
    Label,
    Note,
    PreparedDecision,
    State,
    Transition,
)
from .selectors import feedback_visible_to
from .transitions import (
    approval_status,
    decision_prepare,
    decision_publish,
    decision_record,
    feedback_transition,
    item_assign,
    item_labels_change,
    note_add,
)

TEMPLATE = "feedback/staff/item.html"
# Roles that work items; anyone else on staff (auditors) reads only.
WORKING_ROLES = (TRIAGER, REVIEWER, EDITOR, MODERATOR)
SORTING_ROLES = (TRIAGER, REVIEWER, EDITOR)
REVIEWING_ROLES = (REVIEWER, EDITOR)
ASSIGNABLE_LIMIT = 500


# --- Reads ---------------------------------------------------------------------------------


def _staff_gate(request: HttpRequest, tracking_number: str) -> HttpResponse | None:
    """None for staff; sign-in (then the item's page) for anonymous visitors; a plain 404 for
    everyone else (the same answer as for a number never issued)."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("staff:item", kwargs={"tracking_number": tracking_number}))
    if not is_staff_member(request.user):
        raise Http404("no such feedback")
    return None


def _item_get(request: HttpRequest, tracking_number: str) -> FeedbackItem:
    item = (
        feedback_visible_to(request.user)
        .select_related(
            "version", "version__spec", "clause_text", "example", "assignee", "duplicate_of"
        )
        .prefetch_related("labels")
        .filter(tracking_number=tracking_number)
        .first()
    )
    if item is None:
        raise Http404("no such feedback")
    return item


def _assignable_usernames() -> list[str]:
    """Staff who work items, by name (the assignment menu)."""
    users = get_user_model().objects.filter(is_active=True)
    users = users.filter(Q(is_superuser=True) | Q(groups__name__in=SORTING_ROLES)).distinct()
    return list(users.order_by("username").values_list("username", flat=True)[:ASSIGNABLE_LIMIT])


def _label_choices() -> list[tuple[str, str]]:
    return [
        (str(pk), name) for pk, name in Label.objects.order_by("name").values_list("pk", "name")
    ]


def _note_threads(notes: list[Note]) -> list[Note]:
    """Top-level notes, each with `.thread` (its replies, recursively), oldest first."""
    by_id = {note.pk: note for note in notes}
    roots = []
    for note in notes:
        note.thread = []
    for note in notes:
        parent = by_id.get(note.parent_id)
        (parent.thread if parent is not None else roots).append(note)
    return roots


def _context(
    request: HttpRequest,
    item: FeedbackItem,
    *,
    bound: dict | None = None,
    problem: str = "",
    done: str = "",
) -> dict:
    """Everything the page draws. `bound` holds forms posted with errors, by key: they are
    shown instead of fresh ones."""
    bound = bound or {}
    user = request.user
    can_write = has_role(user, *WORKING_ROLES)
    can_sort = has_role(user, *SORTING_ROLES)
    can_review = has_role(user, *REVIEWING_ROLES)

    transition_forms = []
    if can_write:
        for action in workflow.actions_for(item.state, workflow.actors_of(user)):
            form = bound.get(("transition", action.name)) or TransitionForm(
                action=action, initial={"expected_state": item.state}
            )
            transition_forms.append(form)

    notes = list(
        Note.objects.filter(item=item)
        .select_related("author")
        .prefetch_related("mentions")
        .order_by("created_at", "id")
    )
    decisions = list(
        Decision.objects.filter(item=item, review_round=item.review_round)
        .select_related("reviewer")
        .order_by("created_at", "id")
    )
    my_position = next((d for d in decisions if d.reviewer_id == user.pk), None)
    prepared = PreparedDecision.objects.filter(item=item).select_related("prepared_by").first()
    labels_now = [str(label.pk) for label in item.labels.all()]
    can_prepare = can_review and any(
        workflow.ACTIONS[name].allows(item.state) for name in PREPARABLE
    )
    return {
        "item": item,
        "problem": problem,
        "done": done,
        "can_write": can_write,
        "can_sort": can_sort,
        "can_review": can_review,
        "read_only": not can_write,
        "transition_forms": transition_forms,
        "approval": approval_status(item),
        "decisions": decisions,
        "can_position": can_review and item.state == State.IN_REVIEW,
        "position_form": bound.get("position")
        or PositionForm(
            initial={"position": my_position.position, "rationale": my_position.rationale}
            if my_position
            else None
        ),
        "prepared": prepared,
        "prepared_label": workflow.ACTIONS[prepared.action].label if prepared else "",
        "can_prepare": can_prepare,
        "prepare_form": bound.get("prepare") or PrepareForm(),
        "assign_form": bound.get("assign")
        or AssignForm(
            initial={"assignee": item.assignee.get_username() if item.assignee else ""},
            staff_usernames=_assignable_usernames() if can_sort else [],
        ),
        "labels_form": bound.get("labels")
        or LabelsForm(
            initial={"labels": labels_now}, label_choices=_label_choices() if can_sort else []
        ),
        "threads": _note_threads([n for n in notes if not n.is_public]),
        "note_form": bound.get("note") or NoteForm(prefix="note"),
        "note_parent": bound.get("note_parent"),
        "public_notes": [n for n in notes if n.is_public],
        "public_form": bound.get("public") or NoteForm(prefix="public"),
        "history": list(Transition.objects.filter(item=item).order_by("created_at", "id")),
    }


# --- Answers -------------------------------------------------------------------------------


def _page_url(item: FeedbackItem) -> str:
    return reverse("staff:item", kwargs={"tracking_number": item.tracking_number})


def _render(
    request: HttpRequest,
    item: FeedbackItem,
    *,
    partial: str = "",
    status: int = 200,
    **context,
) -> HttpResponse:
    page = _context(request, item, **context)
    if request.htmx and partial:
        # htmx swaps 2xx only: errors come back inside a 200 fragment, which then carries the
        # message itself (the page's alert is not part of the fragment).
        page["fragment"] = True
        return render(request, f"{TEMPLATE}#{partial}", page)
    return render(request, TEMPLATE, page, status=status)


def _done(request: HttpRequest, item: FeedbackItem, message: str, *, partial: str = ""):
    """Success: the fragment with a fresh form (htmx), or redirect-after-post."""
    if request.htmx and partial:
        return _render(request, item, partial=partial, done=message)
    messages.success(request, message)
    return HttpResponseRedirect(_page_url(item), status=303)


def _refused(request, item, error: FeedbackError, *, form=None, key=None, partial="", **extra):
    """A service said no: its message goes next to the field it names (or above the form),
    and in the page's alert; the status is the error's (400, 403 or 409)."""
    if form is not None:
        field = error.field if error.field in form.fields else None
        form.add_error(field, error.message)
    bound = {key: form} if key is not None else {}
    bound.update(extra)
    item = _item_get(request, item.tracking_number)  # as it is now, after the refusal
    return _render(
        request, item, partial=partial, status=error.status, bound=bound, problem=error.message
    )


def _invalid(request, item, form, key, *, partial="", **extra):
    bound = {key: form, **extra}
    return _render(
        request,
        item,
        partial=partial,
        status=400,
        bound=bound,
        problem=_("Correct the errors below and send again."),
    )


def _read_only(request: HttpRequest, item: FeedbackItem, *, partial: str = "") -> HttpResponse:
    return _render(
        request,
        item,
        partial=partial,
        status=403,
        problem=_("Your role reads items but does not change them."),
    )


# --- The page ------------------------------------------------------------------------------


@require_GET
def item_work(request: HttpRequest, tracking_number: str) -> HttpResponse:
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    return _render(request, item)


@require_POST
def item_transition(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """One action of the workflow table, from the state the form was drawn for."""
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    if not has_role(request.user, *WORKING_ROLES):
        return _read_only(request, item)
    action = workflow.action_get(request.POST.get("action", ""))
    if action is None:
        return _render(request, item, status=400, problem=_("There is no such action."))
    form = TransitionForm(request.POST, action=action)
    key = ("transition", action.name)
    if not form.is_valid():
        return _invalid(request, item, form, key)
    data = form.cleaned_data
    original = None
    if data.get("duplicate_of"):
        original = (
            feedback_visible_to(request.user).filter(tracking_number=data["duplicate_of"]).first()
        )
        if original is None:
            form.add_error("duplicate_of", _("No feedback item has this tracking number."))
            return _invalid(request, item, form, key)
    try:
        item = feedback_transition(
            acting_user=request.user,
            item=item,
            action=action.name,
            expected_state=data["expected_state"],
            rationale=data.get("rationale", ""),
            duplicate_of=original,
            message=data.get("message", ""),
        )
    except FeedbackError as error:
        return _refused(request, item, error, form=form, key=key)
    return _done(
        request,
        item,
        _("Done: %(action)s. The item is now “%(state)s”.")
        % {"action": action.label, "state": item.get_state_display()},
    )


@require_POST
def item_assign_view(request: HttpRequest, tracking_number: str) -> HttpResponse:
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    partial = "assignment"
    if not has_role(request.user, *WORKING_ROLES):
        return _read_only(request, item, partial=partial)
    form = AssignForm(request.POST, staff_usernames=_assignable_usernames())
    if request.POST.get("me"):
        assignee = request.user
    elif not form.is_valid():
        return _invalid(request, item, form, "assign", partial=partial)
    elif form.cleaned_data["assignee"]:
        assignee = get_user_model().objects.get(username=form.cleaned_data["assignee"])
    else:
        assignee = None
    try:
        item = item_assign(acting_user=request.user, item=item, assignee=assignee)
    except FeedbackError as error:
        return _refused(request, item, error, form=form, key="assign", partial=partial)
    item = _item_get(request, tracking_number)
    message = (
        _("Assigned to %(name)s.") % {"name": assignee.get_username()}
        if assignee
        else _("Nobody is assigned now.")
    )
    return _done(request, item, message, partial=partial)


@require_POST
def item_labels_view(request: HttpRequest, tracking_number: str) -> HttpResponse:
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    partial = "assignment"
    if not has_role(request.user, *WORKING_ROLES):
        return _read_only(request, item, partial=partial)
    form = LabelsForm(request.POST, label_choices=_label_choices())
    if not form.is_valid():
        return _invalid(request, item, form, "labels", partial=partial)
    wanted = {int(pk) for pk in form.cleaned_data["labels"]}
    current = {label.pk for label in item.labels.all()}
    labels = Label.objects.in_bulk(wanted | current)
    try:
        item_labels_change(
            acting_user=request.user,
            item=item,
            add=[labels[pk] for pk in sorted(wanted - current)],
            remove=[labels[pk] for pk in sorted(current - wanted)],
        )
    except FeedbackError as error:
        return _refused(request, item, error, form=form, key="labels", partial=partial)
    item = _item_get(request, tracking_number)
    return _done(request, item, _("Labels saved."), partial=partial)


def _note(request: HttpRequest, tracking_number: str, *, public: bool) -> HttpResponse:
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    key, partial = ("public", "replies") if public else ("note", "notes")
    if not has_role(request.user, *WORKING_ROLES):
        return _read_only(request, item, partial=partial)
    form = NoteForm(request.POST, prefix=key)
    parent_id = request.POST.get(f"{key}-parent", "")
    extra = {"note_parent": int(parent_id)} if not public and parent_id.isdigit() else {}
    if not form.is_valid():
        return _invalid(request, item, form, key, partial=partial, **extra)
    parent = None
    if form.cleaned_data["parent"]:
        parent = Note.objects.filter(item=item, pk=form.cleaned_data["parent"]).first()
        if parent is None:
            # Shown above the form for a new note: there is no such thread on this page.
            form.add_error(None, _("The note you replied to is not on this item."))
            return _invalid(request, item, form, key, partial=partial)
    try:
        note_add(
            acting_user=request.user,
            item=item,
            body=form.cleaned_data["body"],
            public=public,
            parent=parent,
        )
    except FeedbackError as error:
        return _refused(request, item, error, form=form, key=key, partial=partial, **extra)
    message = _("Reply published.") if public else _("Note added.")
    return _done(request, item, message, partial=partial)


@require_POST
def item_note(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """An internal note, or a reply in a note's thread; @username mentions staff."""
    return _note(request, tracking_number, public=False)


@require_POST
def item_reply(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """A public reply: shown on the item's public page, sent to the submitter."""
    return _note(request, tracking_number, public=True)


def _form_post(request, tracking_number, *, form_class, key, partial, act) -> HttpResponse:
    """The shape of a simple working form: gate, item, role, form, service call `act(item,
    cleaned_data)` returning the confirmation, refusals next to the form."""
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    if not has_role(request.user, *WORKING_ROLES):
        return _read_only(request, item, partial=partial)
    form = form_class(request.POST)
    if not form.is_valid():
        return _invalid(request, item, form, key, partial=partial)
    try:
        message = act(item, form.cleaned_data)
    except FeedbackError as error:
        return _refused(request, item, error, form=form, key=key, partial=partial)
    return _done(request, item, message, partial=partial)


@require_POST
def item_position(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """A reviewer's position (accept, decline, defer) or recusal, for this review round."""

    def act(item, data):
        decision = decision_record(
            acting_user=request.user,
            item=item,
            position=data["position"],
            rationale=data["rationale"],
        )
        return _("Your position is recorded: %(position)s.") % {
            "position": decision.get_position_display()
        }

    return _form_post(
        request, tracking_number, form_class=PositionForm, key="position", partial="decisions",
        act=act,
    )  # fmt: skip


@require_POST
def item_prepare(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """Write a decision now, publish it later: the public sees nothing until then."""

    def act(item, data):
        decision_prepare(
            acting_user=request.user,
            item=item,
            action=data["action"],
            rationale=data["rationale"],
        )
        return _("Decision prepared. It stays private until published.")

    return _form_post(
        request, tracking_number, form_class=PrepareForm, key="prepare", partial="decisions",
        act=act,
    )  # fmt: skip


@require_POST
def item_publish(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """Publish the prepared decision: its transition runs now (a full page load: the item's
    state, and so its actions, change)."""
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    if not has_role(request.user, *WORKING_ROLES):
        return _read_only(request, item)
    try:
        item = decision_publish(acting_user=request.user, item=item)
    except FeedbackError as error:
        return _refused(request, item, error)
    return _done(
        request,
        item,
        _("Decision published. The item is now “%(state)s”.") % {"state": item.get_state_display()},
    )
