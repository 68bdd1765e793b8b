"""Dismissing a submitter's request to reopen an item, from the staff item page (POST only).

The request and the form are drawn on the staff item page by
templates/feedback/staff/_item_reopen_request.html (`{% reopen_request item %}`, from
feedback/templatetags/feedback_reopen.py). A dismissal redirects (303) to the item page with a
message; a refusal draws the item page again with the message, the reason as typed and the
refusal's status (400, 403 or 409). Staff only, like the rest of the page: the public is sent
to sign in, accounts without a staff role get the same 404 as for a missing item."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .errors import FeedbackError
from .models import FeedbackItem
from .reopen_requests import REASON_MAX, reopen_request_dismiss
from .views_work import TEMPLATE, _context, _item_get, _staff_gate

FORM_CONTEXT = "reopen_dismiss_form"  # the bound form, for the partial to show again


class DismissForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why the item stays closed (staff only)"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("Say why the item stays closed.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        # Its own ids: the item page holds many forms.
        kwargs.setdefault("auto_id", "reopen-%s")
        super().__init__(*args, **kwargs)


def _page(request, item: FeedbackItem, *, form: DismissForm, status: int, problem: str):
    page = _context(request, item, problem=problem)
    page[FORM_CONTEXT] = form
    return render(request, TEMPLATE, page, status=status)


@require_POST
def item_reopen_request_dismiss(request: HttpRequest, tracking_number: str) -> HttpResponse:
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _page(request, item, form=form, status=400,
                     problem=_("Correct the errors below and send again."))  # fmt: skip
    try:
        reopen_request_dismiss(
            acting_user=request.user, item=item, reason=form.cleaned_data["reason"]
        )
    except FeedbackError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        item = _item_get(request, tracking_number)  # as it is now, after the refusal
        return _page(request, item, form=form, status=error.status, problem=error.message)
    messages.success(request, _("Request dismissed. The item stays closed."))
    url = reverse("staff:item", kwargs={"tracking_number": item.tracking_number})
    return HttpResponseRedirect(f"{url}#reopen-request", status=303)
