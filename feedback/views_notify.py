"""Notification pages under /notifications/: unsubscribing from a link in an e-mail (no sign-in),
following and unfollowing an item, a clause or a spec (accounts), and the anonymous
submitter's switch for messages about their item (through their private link).

The follow buttons are one fragment, `feedback/notify_follow.html`, posted as a real form
(htmx swaps the fragment in place when it is there); `follow_button_context` gives a page what
it needs to draw it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from revisions import selectors as revisions_selectors
from revisions.models import Clause, Spec

from . import listing, messaging, notifications
from .models import FeedbackItem, Visibility
from .selectors import feedback_visible_to

ONE_CLICK = "List-Unsubscribe=One-Click"


def _private(response: HttpResponse) -> HttpResponse:
    """Pages reached through a secret link: never stored, never sent on as a referrer."""
    add_never_cache_headers(response)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


def _masked(address: str) -> str:
    """n•••@example.org: enough to recognise one's own address, not to harvest it."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}•••@{domain}"


def _scope_target(scope: str) -> str:
    """A public name for what a scope is about: a public item's number, a clause's id, a
    spec's title ("" when it is nothing public)."""
    kind, _, pk = scope.partition(":")
    if kind == "item":
        item = (
            FeedbackItem.objects.filter(pk=pk, visibility=Visibility.PUBLIC)
            .values_list("tracking_number", flat=True)
            .first()
        )
        return item or ""
    if kind == "clause":
        return Clause.objects.filter(pk=pk).values_list("key", flat=True).first() or ""
    if kind == "spec":
        return Spec.objects.filter(pk=pk).values_list("title", flat=True).first() or ""
    return ""


# RFC 8058: the mail client's one-click POST carries no cookie and no CSRF token. Nothing here
# needs one: the signed token is the authority, GET changes nothing, and the worst a forged
# POST can do is what the token's holder could do anyway (stop these messages).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, signed: str) -> HttpResponse:
    """GET shows what the link stops and asks to confirm; POST records it (idempotent)."""
    found = messaging.unsubscribe_read(signed)
    if found is None:
        return _private(render(request, "feedback/notify_bad_link.html", status=400))
    address, scope = found
    if request.method == "POST":
        if request.POST.get("scope") == messaging.ALL:
            scope = messaging.ALL
        notifications.unsubscribe_record(address=address, scope=scope)
        done = True
    else:
        done = notifications.is_unsubscribed(address=address, scope=scope)
    context = {
        "signed": signed,
        "address": _masked(address),
        "scope": scope,
        "scope_label": messaging.scope_label(scope),
        "target": _scope_target(scope),
        "done": done,
        "is_all": scope == messaging.ALL,
    }
    return _private(render(request, "feedback/notify_unsubscribe.html", context))


# --- Following (accounts) --------------------------------------------------------------------


class FollowForm(forms.Form):
    item = forms.RegexField(regex=r"^[A-Z]{2,9}-[0-9]{4}-[0-9]{5,9}$", required=False)
    spec = forms.SlugField(max_length=64, required=False)
    clause = forms.CharField(max_length=128, required=False)
    next = forms.CharField(max_length=2000, required=False)

    def clean(self):
        data = super().clean()
        if not (data.get("item") or data.get("spec")):
            raise forms.ValidationError(_("Name an item, a clause or a specification."))
        return data


def _target(request: HttpRequest, data: dict) -> dict:
    """{"item": …} or {"clause": …} or {"spec": …}, with "url" and "label" for the page;
    404 for anything the viewer may not see."""
    if data.get("item"):
        item = feedback_visible_to(request.user).filter(tracking_number=data["item"]).first()
        if item is None:
            raise Http404("no such feedback")
        return {"item": item, "url": item.get_absolute_url(),
                "fields": {"item": item.tracking_number}}  # fmt: skip
    spec = revisions_selectors.spec_get(slug=data["spec"])
    if data.get("clause"):
        text = revisions_selectors.clause_latest(
            viewer=request.user, spec_slug=spec.slug, anchor=data["clause"]
        )
        url = reverse("revisions:clause-latest", kwargs={"spec": spec.slug,
                                                         "clause_id": text.anchor})  # fmt: skip
        return {"clause": text.clause, "url": url,
                "fields": {"spec": spec.slug, "clause": data["clause"]}}  # fmt: skip
    return {"spec": spec, "url": spec.get_absolute_url(), "fields": {"spec": spec.slug}}


def _target_kwargs(target: dict) -> dict:
    return {key: target[key] for key in ("item", "clause", "spec") if key in target}


def follow_button_context(request: HttpRequest, *, item=None, clause=None, spec=None) -> dict:
    """What `feedback/notify_follow.html` needs, for a page that shows a follow button:
    `{% include "feedback/notify_follow.html" with follow=follow %}`."""
    if item is not None:
        fields = {"item": item.tracking_number}
    elif clause is not None:
        fields = {"spec": clause.spec.slug, "clause": clause.key}
    else:
        fields = {"spec": spec.slug}
    return {
        "following": notifications.is_following(request.user, item=item, clause=clause, spec=spec),
        "fields": fields,
        "kind": "item" if item is not None else ("clause" if clause is not None else "spec"),
        "next": request.get_full_path(),
    }


def _safe_next(request: HttpRequest, value: str, fallback: str) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return fallback


def _follow(request: HttpRequest, *, on: bool) -> HttpResponse:
    form = FollowForm(request.POST)
    if not form.is_valid():
        problems = " ".join(e for errors in form.errors.values() for e in errors)
        context = {"status": 400, "title": _("Bad request"), "message": problems}
        return render(request, "errors/error.html", context, status=400)
    target = _target(request, form.cleaned_data)
    back = _safe_next(request, form.cleaned_data.get("next", ""), target["url"])
    if not request.user.is_authenticated:
        response = redirect_to_login(back)
        if request.htmx:  # a full navigation to the sign-in page, not a swapped fragment
            return HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
        return response
    kwargs = _target_kwargs(target)
    if on:
        notifications.follow(user=request.user, **kwargs)
    else:
        notifications.unfollow(user=request.user, **kwargs)
    kind = next(iter(kwargs))
    follow = {"following": on, "fields": target["fields"], "kind": kind, "next": back}
    if request.htmx:
        return render(request, "feedback/notify_follow.html", {"follow": follow})
    messages.success(
        request,
        _("You follow this now; messages go to your account's address.")
        if on
        else _("You no longer follow this."),
    )
    return HttpResponseRedirect(back)


@require_POST
def follow(request: HttpRequest) -> HttpResponse:
    return _follow(request, on=True)


@require_POST
def unfollow(request: HttpRequest) -> HttpResponse:
    return _follow(request, on=False)


# --- The anonymous submitter's switch (private link) ----------------------------------------


def submitter_follow_context(item: FeedbackItem, token: str) -> dict:
    """What `feedback/notify_submitter.html` needs, on the private follow page:
    `{% include "feedback/notify_submitter.html" with mail=mail %}`."""
    return {
        "on": notifications.submitter_mail_on(item),
        "has_address": bool(item.submitter_email),
        "tracking_number": item.tracking_number,
        "token": token,
    }


@require_POST
def submitter_follow(request: HttpRequest, tracking_number: str, token: str) -> HttpResponse:
    """Stop or resume messages about the item to the address given with it. A wrong token
    is a 404, like on the private page itself."""
    item = listing.feedback_item_for_token(tracking_number=tracking_number, token=token)
    if item is None or not item.submitter_email:
        raise Http404("no such feedback")
    on = request.POST.get("mail") == "on"
    notifications.submitter_mail_set(item=item, on=on)
    if request.htmx:
        mail = submitter_follow_context(item, token)
        return _private(render(request, "feedback/notify_submitter.html", {"mail": mail}))
    messages.success(
        request,
        _("Messages about this feedback will go to your address again.")
        if on
        else _("No more messages about this feedback will go to your address."),
    )
    page = reverse("feedback:follow", kwargs={"tracking_number": tracking_number, "token": token})
    return _private(HttpResponseRedirect(page))
