"""Feedback pages: the form, the receipt and private follow link, an item's public page
(endorse, report, timeline), the similar-feedback panel and the tracker.

Function views, one service or selector call each. htmx fragments are the same view rendering
a `{% partialdef %}` of its page when `request.htmx`; every form works without JavaScript.
What a viewer may see always comes from `selectors.feedback_visible_to` (through `listing`):
an item the viewer may not see is a 404 identical to a missing one."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from modelspec_site.accounts.roles import is_staff_member
from modelspec_site.audit.models import Visibility as AuditVisibility
from modelspec_site.audit.selectors import event_list_for_subject
from revisions import selectors as revisions_selectors
from revisions.models import AuthorityLevel, ClauseText, Example, Spec, Version

from . import anchoring, listing, throttling, views_notify, workflow
from .errors import AlreadyEndorsed, CommentPeriodClosed, FeedbackError
from .forms import FeedbackForm, ReportForm, SimilarForm, TargetForm, TrackerForm
from .forms_work import SubmitterAnswerForm
from .models import FeedbackItem, Note, State, Visibility
from .services import (
    Quote,
    Submission,
    comment_period_open,
    feedback_endorse,
    feedback_report,
    feedback_submit,
    token_hash,
)
from .transitions import feedback_transition

logger = logging.getLogger("feedback.spam")

BROWSER_COOKIE = "msf_browser"
BROWSER_COOKIE_AGE = 2 * 365 * 24 * 3600
_BROWSER_KEY = re.compile(r"^[A-Za-z0-9_-]{32,100}$")
_FOLLOW_SESSION_KEY = "feedback.follow.{}"


# --- What the feedback is about ---


@dataclass(frozen=True)
class Target:
    spec: Spec
    version: Version
    clause_text: ClauseText
    example: Example | None
    quote: Quote | None
    passage: anchoring.Passage | None  # where the quote is in the clause text, if it is there
    hidden: dict[str, str]  # the target's fields, carried through the form as hidden inputs


def _bad_target(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "errors/error.html",
        {"status": 400, "title": _("Bad request"),
         "message": _("This link to the feedback form is incomplete. Open the form from a "
                      "clause of the specification.")},
        status=400,
    )  # fmt: skip


def _target(request: HttpRequest, params: QueryDict) -> Target | None:
    """The target named by `params`; None when the parameters are malformed. A version or
    clause the viewer may not see is a 404."""
    form = TargetForm(params)
    if not form.is_valid():
        return None
    data = form.cleaned_data
    spec_slug = data["spec"] or settings.MODELSPEC_DEFAULT_SPEC
    version = revisions_selectors.version_get(
        viewer=request.user, spec_slug=spec_slug, label=data["version"]
    )
    clause_text = revisions_selectors.clause_text_get(version=version, anchor=data["clause"])
    clause_text.version = version
    example = None
    if data["example"]:
        example = next((e for e in clause_text.example_list if e.slug == data["example"]), None)
        if example is None:
            raise Http404("no such example in this clause")
    quote, passage = None, None
    if data["exact"].strip():
        quote = Quote(
            exact=data["exact"],
            prefix=data["prefix"],
            suffix=data["suffix"],
            start=data["start"],
            end=data["end"],
        )
        passage = anchoring.passage_locate(
            clause_text.plain_text,
            exact=quote.exact,
            prefix=quote.prefix,
            suffix=quote.suffix,
            start=quote.start,
        )
    hidden = {name: "" if data.get(name) is None else str(data[name]) for name in TargetForm.HIDDEN}
    hidden["spec"] = version.spec.slug
    return Target(
        spec=version.spec,
        version=version,
        clause_text=clause_text,
        example=example,
        quote=quote,
        passage=passage,
        hidden=hidden,
    )


def _closed(request: HttpRequest, target: Target) -> HttpResponse:
    """Outside the comment period the public gets this page instead of the form."""
    version = target.version
    if version.state != Version.State.PUBLISHED:
        reason = "not_current"
    elif version.comment_opens_at and timezone.now() < version.comment_opens_at:
        reason = "not_open"
    else:
        reason = "over"
    return render(request, "feedback/closed.html", {"target": target, "reason": reason}, status=403)


# --- The form ---


def _form_page(
    request: HttpRequest,
    target: Target,
    form: FeedbackForm,
    *,
    status: int = 200,
    similar: list | None = None,
    checked_similar: bool = False,
) -> HttpResponse:
    return render(
        request,
        "feedback/form.html",
        {
            "target": target,
            "form": form,
            "similar": similar or [],
            "checked_similar": checked_similar,
            "period_open": comment_period_open(target.version),
            "quote_context": _quote_context(target),
        },
        status=status,
    )


def _quote_context(target: Target) -> dict | None:
    """The quoted passage with the text around it, as the clause has it."""
    if target.quote is None:
        return None
    passage = target.passage
    if passage is None:
        return {"exact": " ".join(target.quote.exact.split()), "prefix": "", "suffix": "",
                "found": False}  # fmt: skip
    return {"exact": passage.exact, "prefix": passage.prefix, "suffix": passage.suffix,
            "found": True}  # fmt: skip


_ERROR_FIELDS = {"quote": "exact", "kind": "kind", "visibility": "visibility"}


def _similar_url(target: Target) -> str:
    query = QueryDict(mutable=True)
    query.update({"spec": target.spec.slug, "version": target.version.label,
                  "clause": target.clause_text.anchor})  # fmt: skip
    return f"{reverse('feedback:similar')}?{query.urlencode()}"


@require_http_methods(["GET", "POST"])
def feedback_new(request: HttpRequest) -> HttpResponse:
    """The feedback form. GET shows it for a target; POST files the item (or, with
    action=similar, only looks for similar feedback) and redirects to the receipt."""
    params = request.POST if request.method == "POST" else request.GET
    target = _target(request, params)
    if target is None:
        return _bad_target(request)
    staff = is_staff_member(request.user)
    period_open = comment_period_open(target.version)
    if not period_open and not staff:
        return _closed(request, target)
    options = {"staff": staff, "period_open": period_open, "similar_url": _similar_url(target)}

    if request.method == "GET":
        form = FeedbackForm(initial=target.hidden, **options)
        return _form_page(request, target, form)

    if request.POST.get("action") == "similar":
        # "Check for similar feedback" without JavaScript: show the form as it was, unbound
        # (nothing was sent yet, so no errors), keeping the original time stamp.
        form = FeedbackForm(initial=request.POST.dict(), **options)
        found = listing.similar_feedback(
            viewer=request.user,
            clause_text=target.clause_text,
            text=request.POST.get("summary", ""),
        )
        return _form_page(request, target, form, similar=found, checked_similar=True)

    if request.POST.get("homepage", "").strip():
        # The honeypot: people never see that field. Refuse without storing anything, with a
        # message that reveals nothing to a bot; a person whose browser filled it by mistake
        # can send again (the field comes back empty).
        logger.info("feedback form: honeypot filled; submission refused")
        data = request.POST.copy()
        data["homepage"] = ""
        form = FeedbackForm(data, **options)
        form.is_valid()
        form.add_error(None, _("We could not accept this submission. Please try again."))
        return _form_page(request, target, form, status=400)

    form = FeedbackForm(request.POST, **options)
    if not form.is_valid():
        return _form_page(request, target, form, status=400)
    data = form.cleaned_data
    submission = Submission(
        version=target.version,
        clause_id=target.clause_text.anchor,
        kind=data["kind"],
        summary=data["summary"],
        body=data["body"],
        example_slug=target.example.slug if target.example else None,
        quote=target.quote,
        suggested_text=data["suggested_text"],
        example_conversation=data["example_conversation"],
        severity=data["severity"],
        affiliation=data["affiliation"],
        conflict_of_interest=data["conflict_of_interest"],
        visibility=data.get("visibility") or Visibility.PUBLIC,
        submitter_name=data["submitter_name"],
        submitter_email=data["submitter_email"],
    )
    try:
        throttling.throttle_write(request)
    except throttling.RateLimited as limited:
        form.add_error(None, _too_many(limited))
        return _with_retry_after(_form_page(request, target, form, status=429), limited)
    # The form's time stamp is unique to one showing of the form: sending the same form twice
    # (a double click, Back and send again) files one item and shows its receipt again.
    once_key = "feedback:form-sent:" + token_hash(data["started"])
    if not cache.add(once_key, "", timeout=FORM_SENT_TTL):
        return _already_sent(request, once_key)
    try:
        result = feedback_submit(acting_user=request.user, submission=submission)
    except CommentPeriodClosed:
        cache.delete(once_key)
        return _closed(request, target)
    except FeedbackError as error:
        cache.delete(once_key)
        field = _ERROR_FIELDS.get(error.field or "")
        form.add_error(field if field in form.fields else None, error.message)
        return _form_page(request, target, form, status=400)
    except BaseException:
        cache.delete(once_key)
        raise
    number = result.item.tracking_number
    cache.set(once_key, number, timeout=FORM_SENT_TTL)
    # The follow token travels to the receipt through the session, once; never in a URL
    # other than the private follow link itself.
    request.session[_FOLLOW_SESSION_KEY.format(number)] = result.follow_token
    return HttpResponseRedirect(
        reverse("feedback:receipt", kwargs={"tracking_number": number}), status=303
    )


FORM_SENT_TTL = 24 * 3600


def _too_many(limited: throttling.RateLimited) -> str:
    minutes = max(1, -(-limited.retry_after // 60))
    return ngettext(
        "Too many submissions in a short time. Wait %(n)s minute, then send again.",
        "Too many submissions in a short time. Wait %(n)s minutes, then send again.",
        minutes,
    ) % {"n": minutes}


def _with_retry_after(response: HttpResponse, limited: throttling.RateLimited) -> HttpResponse:
    response["Retry-After"] = str(limited.retry_after)
    return response


def _rate_limited_page(request: HttpRequest, limited: throttling.RateLimited) -> HttpResponse:
    return _with_retry_after(render(request, "429.html", status=429), limited)


def _already_sent(request: HttpRequest, once_key: str) -> HttpResponse:
    """The same form again: its receipt once the first sending is through (waiting a few
    seconds for a sending still under way)."""
    for _attempt in range(20):
        number = cache.get(once_key)
        if number:
            return HttpResponseRedirect(
                reverse("feedback:receipt", kwargs={"tracking_number": number}), status=303
            )
        if number is None:  # the first sending failed and let go of the key
            break
        time.sleep(0.25)
    return render(
        request,
        "errors/error.html",
        {"status": 409, "title": _("Already sent"),
         "message": _("This form was already sent. Open the feedback tracker to find it, or "
                      "go back, reload the form and send it again.")},
        status=409,
    )  # fmt: skip


@require_GET
def feedback_similar(request: HttpRequest) -> HttpResponse:
    """Public feedback on the same clause that looks like the summary being typed (the form's
    htmx panel; without htmx, a small page)."""
    form = SimilarForm(request.GET)
    if not form.is_valid():
        return _bad_target(request)
    data = form.cleaned_data
    version = revisions_selectors.version_get(
        viewer=request.user,
        spec_slug=data["spec"] or settings.MODELSPEC_DEFAULT_SPEC,
        label=data["version"],
    )
    clause_text = revisions_selectors.clause_text_get(version=version, anchor=data["clause"])
    clause_text.version = version
    text = data["q"] or data["summary"]
    found = listing.similar_feedback(viewer=request.user, clause_text=clause_text, text=text)
    context = {"similar": found, "checked_similar": bool(text.strip()), "q": text,
               "version": version, "clause_text": clause_text,
               "in_form": bool(request.htmx)}  # fmt: skip
    template = "feedback/similar.html#panel" if request.htmx else "feedback/similar.html"
    return render(request, template, context)


# --- After submitting ---


def _private(response: HttpResponse) -> HttpResponse:
    """Pages that carry a secret: never stored, never sent on as a referrer."""
    add_never_cache_headers(response)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def feedback_receipt(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """Shown right after submitting: the tracking number and, once, the private follow link."""
    token = request.session.pop(_FOLLOW_SESSION_KEY.format(tracking_number), None)
    item = None
    if token:
        item = listing.feedback_item_for_token(tracking_number=tracking_number, token=token)
    if item is None:
        item = listing.feedback_item_get(viewer=request.user, tracking_number=tracking_number)
        token = None
    if item is None:
        raise Http404("no such feedback")
    follow_url = None
    if token:
        follow_url = request.build_absolute_uri(
            reverse("feedback:follow", kwargs={"tracking_number": tracking_number,
                                               "token": token})
        )  # fmt: skip
    return _private(
        render(request, "feedback/receipt.html", {"item": item, "follow_url": follow_url})
    )


@require_http_methods(["GET", "POST"])
def feedback_follow(request: HttpRequest, tracking_number: str, token: str) -> HttpResponse:
    """The submitter's private page for an item: a wrong token is a plain 404. The token
    proves ownership, so the page also takes the submitter's answer and withdrawal (POST to
    this same address, so the token goes into no other URL)."""
    item = listing.feedback_item_for_token(tracking_number=tracking_number, token=token)
    if item is None:
        raise Http404("no such feedback")
    if request.method == "POST":

        def page(form, problem, status):
            context = _item_context(
                request, item, private=True, answer_form=form, problem=problem, follow_token=token
            )
            return _private(render(request, "feedback/item.html", context, status=status))

        action = request.POST.get("action", "")
        failed = _submitter_move(request, item, action, follow_token_ok=True, page=page)
        return failed or _private(HttpResponseRedirect(request.path, status=303))
    return _private(
        render(
            request,
            "feedback/item.html",
            _item_context(request, item, private=True, follow_token=token),
        )
    )


# --- An item's page ---

ACTION_LABELS = {
    "feedback.submitted": gettext_lazy("Received"),
    "feedback.hidden": gettext_lazy("Hidden by a moderator"),
    "feedback.restored": gettext_lazy("Shown again by a moderator"),
}
# What each move through the workflow is called on the public timeline.
TRANSITION_LABELS = {
    "triage": gettext_lazy("Triaged"),
    "start_review": gettext_lazy("Review started"),
    "request_info": gettext_lazy("More information requested"),
    "provide_info": gettext_lazy("Information sent by the submitter"),
    "mark_duplicate": gettext_lazy("Marked as a duplicate"),
    "decline": gettext_lazy("Declined"),
    "mark_spam": gettext_lazy("Marked as spam"),
    "defer": gettext_lazy("Deferred"),
    "accept": gettext_lazy("Accepted"),
    "incorporate": gettext_lazy("Incorporated"),
    "reopen": gettext_lazy("Reopened"),
    "withdraw": gettext_lazy("Withdrawn by the submitter"),
}
# Moves and replies have their own rows (from Transition and Note); their ledger events tell
# the same facts, so they are left out of the ledger part of the timeline.
_SHOWN_ELSEWHERE = (
    "feedback.endorsed",
    "feedback.replied",
    *(action.event for action in workflow.ACTIONS.values()),
)
# A message that travels with a move (the question, the submitter's answer) is a Note made in
# the same transaction, just before the Transition row.
_MESSAGE_OF = {
    "request_info": Note.Kind.PUBLIC_REPLY,
    "provide_info": Note.Kind.SUBMITTER_REPLY,
}
_SAME_MOVE = dt.timedelta(seconds=60)


def _reply_label(note: Note) -> str:
    if note.kind == Note.Kind.SUBMITTER_REPLY:
        return _("Reply from the submitter")
    return _("Reply from the reviewers")


def _timeline(request: HttpRequest, item: FeedbackItem) -> tuple[list[dict], dict]:
    """The item's public history, oldest first: public ledger events (received, hidden…), its
    moves through the workflow with their public rationale, public replies and the
    submitter's replies. Never internal notes, positions, prepared decisions, labels or who
    acted: those are for the staff page. Also returns the current decision ({label,
    rationale, duplicate_of}) when the item's state is one."""
    events = (
        event_list_for_subject(item, viewer=request.user)
        .filter(visibility=AuditVisibility.PUBLIC)
        .exclude(action__in=_SHOWN_ELSEWHERE)
        .only("seq", "created_at", "action", "data", "visibility")[:200]
    )
    rows = []
    for event in events:
        label = ACTION_LABELS.get(event.action)
        if label is None:
            label = event.action.rpartition(".")[2].replace("_", " ").capitalize()
        data = event.data if isinstance(event.data, dict) else {}
        note = data.get("rationale") or data.get("reason") or ""
        rows.append({"at": event.created_at, "order": 0, "label": label,
                     "note": note if isinstance(note, str) else ""})  # fmt: skip
    history = listing.item_public_history(viewer=request.user, item=item)
    used: set[int] = set()
    decision: dict = {}
    for move in history.transitions:
        row = {"at": move.created_at, "order": 1, "note": move.rationale,
               "label": TRANSITION_LABELS.get(move.action, move.get_to_state_display())}  # fmt: skip
        kind = _MESSAGE_OF.get(move.action)
        if kind is not None:
            message = next(
                (n for n in reversed(history.replies) if n.kind == kind and n.pk not in used
                 and move.created_at - _SAME_MOVE <= n.created_at <= move.created_at),
                None,
            )  # fmt: skip
            if message is not None:
                used.add(message.pk)
                row["message"] = message.body
        if move.pk in history.duplicate_targets:
            row["duplicate_of"] = history.duplicate_targets[move.pk]
        rows.append(row)
        if move.to_state == item.state:
            decision = {"label": item.get_state_display(), "rationale": move.rationale,
                        "duplicate_of": row.get("duplicate_of", "")}  # fmt: skip
    for reply in history.replies:
        if reply.pk not in used:
            rows.append({"at": reply.created_at, "order": 2, "label": _reply_label(reply),
                         "note": "", "message": reply.body})  # fmt: skip
    rows.sort(key=lambda row: (row["at"], row["order"]))
    shown = workflow.is_closed(item.state) or item.state == State.ACCEPTED
    return rows, (decision if shown else {})


def _browser_key(request: HttpRequest) -> str:
    value = request.COOKIES.get(BROWSER_COOKIE, "")
    return value if _BROWSER_KEY.match(value) else ""


def _item_context(
    request: HttpRequest,
    item: FeedbackItem,
    *,
    private: bool = False,
    submitter: bool = False,
    answer_form: SubmitterAnswerForm | None = None,
    problem: str = "",
    follow_token: str = "",
) -> dict:
    """The item page. `private` is the submitter's follow-link page; `submitter` offers the
    submitter's own moves (answer while the item needs information, withdraw)."""
    staff = is_staff_member(request.user)
    shows_content = private or staff or not item.hidden
    timeline, decision = _timeline(request, item) if shows_content else ([], {})
    own = private or submitter
    return {
        "item": item,
        "private": private,
        "staff": staff,
        "shows_content": shows_content,
        "timeline": timeline,
        "decision": decision,
        "endorsed": (
            listing.endorsement_exists(
                item=item, user=request.user, browser_key=_browser_key(request)
            )
            if shows_content and not private
            else False
        ),
        "report_form": ReportForm(),
        "submitter": own,
        "can_answer": own and workflow.ACTIONS["provide_info"].allows(item.state),
        "can_withdraw": own and workflow.ACTIONS["withdraw"].allows(item.state),
        "answer_form": answer_form or SubmitterAnswerForm(),
        # The follow-link page posts to itself: the token never goes into another URL.
        "answer_url": request.path if private else _submitter_url("answer", item),
        "withdraw_url": request.path if private else _submitter_url("withdraw", item),
        "problem": problem,
        # Following: accounts follow public items; the anonymous submitter switches e-mail
        # about their own item on and off from the private page.
        "follow": (
            views_notify.follow_button_context(request, item=item)
            if not private and item.is_public and shows_content
            else None
        ),
        "mail": (
            views_notify.submitter_follow_context(item, follow_token)
            if private and follow_token
            else None
        ),
    }


def _submitter_url(name: str, item: FeedbackItem) -> str:
    return reverse(f"feedback:{name}", kwargs={"tracking_number": item.tracking_number})


def _is_account_submitter(request: HttpRequest, item: FeedbackItem) -> bool:
    user = request.user
    return bool(
        user.is_authenticated and FeedbackItem.objects.filter(pk=item.pk, submitter=user).exists()
    )


def _item_or_404(request: HttpRequest, tracking_number: str) -> FeedbackItem:
    item = listing.feedback_item_get(viewer=request.user, tracking_number=tracking_number)
    if item is None:
        raise Http404("no such feedback")
    return item


@require_GET
def feedback_item(request: HttpRequest, tracking_number: str) -> HttpResponse:
    item = _item_or_404(request, tracking_number)
    submitter = _is_account_submitter(request, item)
    return render(request, "feedback/item.html", _item_context(request, item, submitter=submitter))


def _submitter_move(
    request: HttpRequest, item: FeedbackItem, action: str, *, follow_token_ok: bool, page
) -> HttpResponse | None:
    """The submitter answers (provide_info) or withdraws. None when done; otherwise the page
    again (`page(answer_form, problem, status)`) with what went wrong."""
    form = None
    message = ""
    if action == "provide_info":
        form = SubmitterAnswerForm(request.POST)
        if not form.is_valid():
            return page(form, _("Write your answer, then send it."), 400)
        message = form.cleaned_data["message"]
    elif action != "withdraw":
        return page(None, _("There is no such action."), 400)
    try:
        throttling.throttle_write(request)
    except throttling.RateLimited as limited:
        return _with_retry_after(page(form, _too_many(limited), 429), limited)
    expected = request.POST.get("expected_state", "")
    try:
        feedback_transition(
            acting_user=request.user,
            item=item,
            action=action,
            expected_state=expected if expected in State.values else None,
            message=message,
            follow_token_ok=follow_token_ok,
        )
    except FeedbackError as error:
        if form is not None and error.field == "message":
            form.add_error("message", error.message)
        return page(form, error.message, error.status)
    if action == "withdraw":
        messages.success(request, _("Your feedback is withdrawn."))
    else:
        messages.success(request, _("Thank you: your answer was sent and the item is back in triage."))  # fmt: skip
    return None


def _submitter_view(request: HttpRequest, tracking_number: str, action: str) -> HttpResponse:
    """The account submitter's answer or withdrawal, from the item's public page."""
    item = _item_or_404(request, tracking_number)

    def page(form, problem, status):
        context = _item_context(
            request,
            item,
            submitter=_is_account_submitter(request, item),
            answer_form=form,
            problem=problem,
        )
        return render(request, "feedback/item.html", context, status=status)

    failed = _submitter_move(request, item, action, follow_token_ok=False, page=page)
    return failed or HttpResponseRedirect(item.get_absolute_url(), status=303)


@require_POST
def feedback_answer(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """The submitter's answer while the item needs information: back to triage."""
    return _submitter_view(request, tracking_number, "provide_info")


@require_POST
def feedback_withdraw(request: HttpRequest, tracking_number: str) -> HttpResponse:
    return _submitter_view(request, tracking_number, "withdraw")


def _endorse_partial(
    request: HttpRequest, item: FeedbackItem, *, endorsed: bool, message: str
) -> HttpResponse:
    """htmx: the endorsement bit of the item page, or of the similar-feedback panel."""
    panel = request.POST.get("panel") == "similar"
    template = "feedback/similar.html#endorse" if panel else "feedback/item.html#endorse"
    context = {"item": item, "endorsed": endorsed, "endorse_message": message}
    return render(request, template, context)


@require_POST
def feedback_endorse_view(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """ "Me too": once per account, or once per browser (an HttpOnly random cookie)."""
    item = _item_or_404(request, tracking_number)
    key = _browser_key(request)
    new_key = ""
    if not key and not request.user.is_authenticated:
        key = new_key = secrets.token_urlsafe(32)
    message, level, endorsed = "", messages.SUCCESS, False
    if item.hidden and not is_staff_member(request.user):
        message, level = _("This feedback was hidden by a moderator."), messages.WARNING
    else:
        try:
            throttling.throttle_write(request)
        except throttling.RateLimited as limited:
            if not request.htmx:
                return _rate_limited_page(request, limited)
            return _with_retry_after(
                _endorse_partial(request, item, endorsed=False, message=_too_many(limited)),
                limited,
            )
        try:
            item = feedback_endorse(acting_user=request.user, item=item, anonymous_key=key)
            message, endorsed = _("Thank you: your endorsement is counted."), True
        except AlreadyEndorsed:
            message, level, endorsed = _("You have already endorsed this."), messages.INFO, True
        except FeedbackError as error:
            message, level = error.message, messages.WARNING
    if request.htmx:
        response = _endorse_partial(request, item, endorsed=endorsed, message=message)
    else:
        messages.add_message(request, level, message)
        response = HttpResponseRedirect(item.get_absolute_url(), status=303)
    if new_key:
        response.set_cookie(
            BROWSER_COOKIE,
            new_key,
            max_age=BROWSER_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


@require_http_methods(["GET", "POST"])
def feedback_report_view(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """Flag an item for the moderators."""
    item = _item_or_404(request, tracking_number)
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            throttling.throttle_write(request)
        except throttling.RateLimited as limited:
            if not request.htmx:
                return _rate_limited_page(request, limited)
            form.add_error(None, _too_many(limited))
            context = {"item": item, "report_form": form}
            return _with_retry_after(
                render(request, "feedback/report.html#report", context), limited
            )
        feedback_report(acting_user=request.user, item=item, reason=form.cleaned_data["reason"])
        thanks = _("Thank you. A moderator will look at it.")
        if request.htmx:
            return render(request, "feedback/report.html#report", {"item": item, "thanks": thanks})
        messages.success(request, thanks)
        return HttpResponseRedirect(item.get_absolute_url(), status=303)
    status = 400 if request.method == "POST" else 200
    if request.htmx:
        # htmx swaps 2xx only: the errors come back as a 200 fragment.
        return render(request, "feedback/report.html#report", {"item": item, "report_form": form})
    return render(
        request, "feedback/report.html", {"item": item, "report_form": form}, status=status
    )


# --- The tracker ---


def _tracker_choices(request: HttpRequest) -> dict:
    """Choices for the filter form: three small queries whatever the number of items."""
    versions = revisions_selectors.versions_visible_to(request.user).order_by("-label")
    return {
        "specs": list(Spec.objects.order_by("title").values_list("slug", "title")),
        "versions": [
            (label, label) for label in dict.fromkeys(versions.values_list("label", flat=True))
        ],
        "authorities": [
            (name, name)
            for name in dict.fromkeys(
                AuthorityLevel.objects.order_by("rank", "name").values_list("name", flat=True)
            )
        ],
    }


@require_GET
def feedback_tracker(request: HttpRequest) -> HttpResponse:
    """Every item the viewer may see, filtered, searched, sorted and paginated by cursor.
    Filter values outside the allowlists are ignored, never an error."""
    choices = _tracker_choices(request)
    values = TrackerForm(request.GET, **choices).valid_values()
    filters = listing.TrackerFilters(**values)
    page = listing.tracker_page(
        viewer=request.user, filters=filters, cursor=request.GET.get("cursor", "")[:1000]
    )
    form = TrackerForm(initial=values, **choices)

    def link(cursor: str | None) -> str | None:
        if cursor is None:
            return None
        query = QueryDict(mutable=True)
        query.update(values)
        query["cursor"] = cursor
        return f"{reverse('feedback:tracker')}?{query.urlencode()}"

    context = {
        "form": form,
        "page": page,
        "filters": filters,
        "next_url": link(page.next_cursor),
        "previous_url": link(page.previous_cursor),
        "staff": is_staff_member(request.user),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "feedback/tracker.html#results" if partial else "feedback/tracker.html"
    return render(request, template, context)
