"""Change proposals from the feedback side (staff): draft a proposal from an item (the form is
revisions' own, prefilled from the item's clause and suggested text), link an item to an
existing proposal, and remove a link made by mistake. Editors act; other staff are refused (403); anonymous visitors are sent to
sign in and accounts without a staff role get the same 404 as for a missing item."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from modelspec_site.accounts.roles import EDITOR, has_role
from revisions.models import ChangeProposal
from revisions.proposals import RevisionError
from revisions.views_editor import (
    proposal_fields,
    proposal_form_new,
    proposal_form_page,
)

from .errors import FeedbackError
from .proposal_links import (
    item_proposal_initial,
    proposal_create_for_item,
    proposal_link_add,
    proposal_link_remove,
)
from .views_work import _item_get, _page_url, _render, _staff_gate


def _source_html(item) -> str:
    suggestion = item.suggested_text.strip()
    source = format_html(
        _('Drafted from feedback <a href="{url}">{number}</a>: {summary}'),
        url=_page_url(item),
        number=item.tracking_number,
        summary=item.summary,
    )
    return format_html(
        "<p>{}</p>{}",
        source,
        format_html("<p>{}</p><blockquote>{}</blockquote>", _("Suggested text:"), suggestion)
        if suggestion
        else "",
    )


@require_http_methods(["GET", "POST"])
def item_propose(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """The proposal form, prefilled from the item; sending it creates the proposal and links
    it to the item in one transaction."""
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    spec = item.spec
    action = reverse("staff:item-propose", kwargs={"tracking_number": item.tracking_number})
    page = {"spec": spec, "action": action, "source_html": _source_html(item)}
    if request.method == "GET":
        form = proposal_form_new(spec, initial=item_proposal_initial(item))
        if not has_role(request.user, EDITOR):
            return proposal_form_page(
                request,
                form=form,
                status=403,
                problem=_("Only editors draft change proposals."),
                **page,
            )
        return proposal_form_page(request, form=form, **page)
    form = proposal_form_new(spec, data=request.POST)
    if not form.is_valid():
        return proposal_form_page(
            request,
            form=form,
            status=400,
            problem=_("Correct the errors below and send again."),
            **page,
        )
    try:
        proposal = proposal_create_for_item(
            acting_user=request.user,
            item=item,
            operation=form.cleaned_data["operation"],
            **proposal_fields(spec, form),
        )
    except (RevisionError, FeedbackError) as error:
        field = error.field if error.field in form.fields else None
        form.add_error(field, error.message)
        return proposal_form_page(
            request, form=form, status=error.status, problem=error.message, **page
        )
    messages.success(
        request,
        _("Proposal P%(pk)s is in review, linked to %(number)s.")
        % {"pk": proposal.pk, "number": item.tracking_number},
    )
    return HttpResponseRedirect(proposal.get_absolute_url(), status=303)


@require_POST
def item_proposal_link(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """Link the item to an existing proposal, named by its number (P12 or 12)."""
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    raw = request.POST.get("proposal", "").strip().upper().removeprefix("P")
    proposal = ChangeProposal.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if proposal is None:
        return _render(
            request, item, status=400, problem=_("There is no change proposal with this number.")
        )
    try:
        proposal_link_add(acting_user=request.user, item=item, proposal=proposal)
    except FeedbackError as error:
        return _render(request, item, status=error.status, problem=error.message)
    messages.success(
        request,
        _("%(number)s is linked to P%(pk)s.") % {"number": item.tracking_number, "pk": proposal.pk},
    )
    return HttpResponseRedirect(_page_url(item) + "#proposals", status=303)


@require_POST
def item_proposal_unlink(
    request: HttpRequest, tracking_number: str, proposal_id: int
) -> HttpResponse:
    """Remove the item's link to proposal `proposal_id` (not once the proposal is published);
    `reason`, optional, goes into the ledger event."""
    if (gate := _staff_gate(request, tracking_number)) is not None:
        return gate
    item = _item_get(request, tracking_number)
    proposal = ChangeProposal.objects.filter(pk=proposal_id).first()
    if proposal is None:
        return _render(
            request, item, status=404, problem=_("There is no change proposal with this number.")
        )
    try:
        proposal_link_remove(
            acting_user=request.user,
            item=item,
            proposal=proposal,
            reason=request.POST.get("reason", ""),
        )
    except FeedbackError as error:
        return _render(request, item, status=error.status, problem=error.message)
    messages.success(
        request,
        _("%(number)s is no longer linked to P%(pk)s.")
        % {"number": item.tracking_number, "pk": proposal.pk},
    )
    return HttpResponseRedirect(_page_url(item) + "#proposals", status=303)
