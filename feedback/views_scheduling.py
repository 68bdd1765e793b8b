"""Scheduling internal material for publication, from the staff item page: the form (item or
one internal note; a date or a draft version), the pending schedules with a cancel button.

The form is drawn on the staff item page by `{% publication_panel item %}`
(feedback/templatetags/feedback_scheduling.py) and on its own page,
/staff/items/<number>/publication/, which also answers a refused or invalid POST (with its
status: 400, 403 or 409). A successful POST redirects to the item page. No JavaScript needed."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from revisions.models import Version
from revisions.selectors import versions_visible_to

from .errors import FeedbackError
from .models import FeedbackItem, Note, ScheduledPublication, Visibility
from .scheduling import (
    may_schedule,
    pending_for_item,
    publication_cancel,
    publication_schedule,
)
from .views_work import _item_get, _staff_gate

TEMPLATE = "feedback/staff/publication.html"
ITEM_SUBJECT = "item"
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class ScheduleForm(forms.Form):
    subject = forms.ChoiceField(
        label=gettext_lazy("What to publish"),
        error_messages={"invalid_choice": gettext_lazy("Choose the item or one internal note.")},
    )
    publish_at = forms.DateTimeField(
        label=gettext_lazy("On this date and time"),
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    with_version = forms.ChoiceField(
        label=gettext_lazy("Or with the release of this draft version"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choose a draft version from the list.")},
    )

    def __init__(self, *args, subjects, versions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subject"].choices = subjects
        self.fields["with_version"].choices = [("", _("No version")), *versions]
        self.fields["publish_at"].help_text = _("Time zone: %(zone)s.") % {
            "zone": timezone.get_current_timezone_name()
        }

    def clean(self):
        data = super().clean()
        if bool(data.get("publish_at")) == bool(data.get("with_version")):
            self.add_error("publish_at", _("Give either a date and time or a version, not both."))
        return data


def _note_choice(note: Note) -> tuple[str, str]:
    excerpt = " ".join(note.body.split())
    excerpt = excerpt if len(excerpt) <= 60 else excerpt[:59] + "…"
    label = _("Internal note by %(author)s: “%(excerpt)s”") % {
        "author": note.author_label,
        "excerpt": excerpt,
    }
    return f"note-{note.pk}", label


def panel_context(user, item: FeedbackItem, *, form: ScheduleForm | None = None) -> dict:
    """What the publication panel draws for `user` on `item`."""
    pending = list(pending_for_item(item))
    taken_notes = {s.note_id for s in pending if s.note_id}
    subjects = []
    if item.visibility == Visibility.INTERNAL and not any(s.item_id for s in pending):
        subjects.append((ITEM_SUBJECT, _("This item")))
    notes = Note.objects.filter(item=item, kind=Note.Kind.INTERNAL).order_by("created_at", "id")
    subjects += [_note_choice(n) for n in notes if n.pk not in taken_notes]
    versions = [
        (label, label)
        for label in versions_visible_to(user)
        .filter(spec_id=item.spec_id, state=Version.State.DRAFT)
        .order_by("-label")
        .values_list("label", flat=True)
    ]
    can_schedule = may_schedule(user)
    return {
        "item": item,
        "can_schedule": can_schedule,
        "pending": pending,
        "item_internal": item.visibility == Visibility.INTERNAL,
        "publication_form": form
        or (ScheduleForm(subjects=subjects, versions=versions) if can_schedule else None),
        "has_subjects": bool(subjects),
    }


def _form_for(request: HttpRequest, item: FeedbackItem) -> ScheduleForm:
    blank = panel_context(request.user, item)["publication_form"]
    return ScheduleForm(
        request.POST,
        subjects=blank.fields["subject"].choices,
        versions=[c for c in blank.fields["with_version"].choices if c[0]],
    )


def _page(request, item, *, form=None, problem="", status=200) -> HttpResponse:
    context = panel_context(request.user, item, form=form)
    return render(request, TEMPLATE, {**context, "problem": problem}, status=status)


def _item_page(item: FeedbackItem) -> HttpResponseRedirect:
    url = reverse("staff:item", kwargs={"tracking_number": item.tracking_number})
    return HttpResponseRedirect(f"{url}#publication", status=303)


@require_GET
def publication_page(request: HttpRequest, tracking_number: str) -> HttpResponse:
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    return _page(request, _item_get(request, tracking_number))


@require_POST
def publication_schedule_view(request: HttpRequest, tracking_number: str) -> HttpResponse:
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    if not may_schedule(request.user):
        return _page(request, item, status=403,
                     problem=_("Only reviewers and editors schedule publications."))  # fmt: skip
    form = _form_for(request, item)
    if not form.is_valid():
        return _page(request, item, form=form, status=400,
                     problem=_("Correct the errors below and send again."))  # fmt: skip
    data = form.cleaned_data
    note = None
    if data["subject"] != ITEM_SUBJECT:
        note = Note.objects.get(item=item, pk=int(data["subject"].removeprefix("note-")))
    version = None
    if data["with_version"]:
        version = Version.objects.get(spec_id=item.spec_id, label=data["with_version"])
    try:
        publication_schedule(
            acting_user=request.user,
            item=item if note is None else None,
            note=note,
            publish_at=data.get("publish_at"),
            with_version=version,
        )
    except FeedbackError as error:
        field = error.field if error.field in form.fields else None
        form.add_error(field, error.message)
        return _page(request, item, form=form, status=error.status, problem=error.message)
    messages.success(request, _("Publication scheduled."))
    return _item_page(item)


@require_POST
def publication_cancel_view(
    request: HttpRequest, tracking_number: str, schedule_id: int
) -> HttpResponse:
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    schedule = ScheduledPublication.objects.filter(
        Q(item=item) | Q(note__item=item), pk=schedule_id
    ).first()
    if schedule is None:
        return _page(
            request, item, status=404, problem=_("There is no such scheduled publication.")
        )
    if not may_schedule(request.user):
        return _page(request, item, status=403,
                     problem=_("Only reviewers and editors cancel scheduled publications."))  # fmt: skip
    try:
        publication_cancel(acting_user=request.user, schedule=schedule)
    except FeedbackError as error:
        return _page(request, item, status=error.status, problem=error.message)
    messages.success(request, _("Scheduled publication cancelled."))
    return _item_page(item)
