"""The submitter's answer to "does the new text resolve your concern?" after publishing
carried their item forward (`carry.carried_answer`). Three doors to one page:

- `carried/<signed>/`: the link in the carried message (a signed token for this item and
  version; the private follow token never goes into a message);
- `follow/<token>/carried/`: from the submitter's private page;
- `carried/`: the signed-in submitter's account.

Anyone else, and any wrong token, gets a plain 404. GET shows the change and the form; only
POST records (mail scanners follow links)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from . import listing, messaging, throttling, workflow
from .carry import ANSWER_MESSAGE_MAX, carried_answer, carried_for_answer
from .errors import FeedbackError
from .models import FeedbackItem, Reanchoring, Visibility


class CarriedAnswerForm(forms.Form):
    response = forms.ChoiceField(
        label=gettext_lazy("Does the new text resolve your concern?"),
        choices=Reanchoring.Response.choices,
        widget=forms.RadioSelect,
    )
    message = forms.CharField(
        label=gettext_lazy("Anything to add? (optional; shown on the item's public page)"),
        required=False,
        max_length=ANSWER_MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _page(request, item, reanchoring, form, *, status=200, problem=""):
    diff_html = ""
    if reanchoring.to_text_id is not None:
        diff_html = messaging.clause_diff(
            reanchoring.from_text.plain_text, reanchoring.to_text.plain_text
        )[1]
    context = {
        "item": item,
        "reanchoring": reanchoring,
        "outcome_label": messaging.outcome_words(reanchoring.outcome),
        "diff_html": diff_html,
        "unchanged": reanchoring.to_text_id is not None
        and reanchoring.from_text.plain_text == reanchoring.to_text.plain_text,
        "closed": workflow.is_closed(item.state),
        "form": form,
        "problem": problem,
    }
    return _private(render(request, "feedback/carry_answer.html", context, status=status))


def _answer(request: HttpRequest, item: FeedbackItem, reanchoring: Reanchoring | None):
    if reanchoring is None:
        raise Http404("nothing to answer")
    if request.method != "POST":
        initial = {"response": reanchoring.response} if reanchoring.response else {}
        return _page(request, item, reanchoring, CarriedAnswerForm(initial=initial))
    form = CarriedAnswerForm(request.POST)
    if not form.is_valid():
        return _page(request, item, reanchoring, form, status=400,
                     problem=_("Choose an answer, then send it."))  # fmt: skip
    try:
        throttling.throttle_write(request)
    except throttling.RateLimited as limited:
        response = _page(request, item, reanchoring, form, status=429,
                         problem=_("Too many requests; try again later."))  # fmt: skip
        response["Retry-After"] = str(limited.retry_after)
        return response
    try:
        carried_answer(
            acting_user=request.user,
            reanchoring=reanchoring,
            response=form.cleaned_data["response"],
            message=form.cleaned_data["message"],
        )
    except FeedbackError as error:
        if error.field in form.fields:
            form.add_error(error.field, error.message)
        return _page(request, item, reanchoring, form, status=error.status, problem=error.message)
    if form.cleaned_data["response"] == Reanchoring.Response.NO and workflow.is_closed(item.state):
        messages.success(request, _("Thank you. The reviewers are asked to reopen the item."))
    else:
        messages.success(request, _("Thank you for your answer."))
    return _private(HttpResponseRedirect(request.path, status=303))


@require_http_methods(["GET", "POST"])
def carried_signed(request: HttpRequest, tracking_number: str, signed: str) -> HttpResponse:
    found = messaging.answer_token_read(signed)
    if found is None:
        raise Http404("no such link")
    item_id, version_id = found
    # Messages go only to submitters of public items: no token names an internal one.
    item = FeedbackItem.objects.filter(
        pk=item_id, tracking_number=tracking_number, visibility=Visibility.PUBLIC
    ).first()
    if item is None:
        raise Http404("no such link")
    return _answer(request, item, carried_for_answer(item=item, version_id=version_id))


@require_http_methods(["GET", "POST"])
def carried_follow(request: HttpRequest, tracking_number: str, token: str) -> HttpResponse:
    item = listing.feedback_item_for_token(tracking_number=tracking_number, token=token)
    if item is None:
        raise Http404("no such feedback")
    return _answer(request, item, carried_for_answer(item=item))


@require_http_methods(["GET", "POST"])
def carried_account(request: HttpRequest, tracking_number: str) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        raise Http404("no such feedback")
    item = FeedbackItem.objects.filter(tracking_number=tracking_number, submitter=user).first()
    if item is None:
        raise Http404("no such feedback")
    return _answer(request, item, carried_for_answer(item=item))
