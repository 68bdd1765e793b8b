"""Editors' pages under /staff/: change proposals and the draft-version builder.

Editors draft proposals and build drafts; reviewers (and editors) record positions; every
other staff member reads. Anonymous visitors are sent to sign in; signed-in accounts without a
staff role get 403. Each form posts to one thin view that calls one service of
`revisions.proposals` or `revisions.drafts`; a refusal is shown on the page with its status
(400 bad input, 403 not allowed, 409 not possible now). Without JavaScript every form is a
plain POST answered by a redirect; with htmx, applying a proposal swaps the builder's list in
place (always with status 200, since htmx swaps 2xx only, the message included)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from modelspec_site.accounts.roles import EDITOR, REVIEWER, has_role, is_staff_member

from . import hooks
from .diffing import render_inline_diff, word_diff
from .drafts import (
    draft_apply_proposal,
    draft_delete,
    draft_edit_clause,
    draft_import_markdown,
    draft_proposals,
    draft_start,
)
from .forms_editor import (
    ApplyForm,
    ClauseEditForm,
    DraftStartForm,
    ImportForm,
    PositionForm,
    ProposalForm,
    WithdrawForm,
)
from .importing import SpecSyntaxError
from .models import ChangeProposal, ClauseText, ProposalPosition, Spec, Version
from .proposals import (
    RevisionError,
    may_edit,
    proposal_approval,
    proposal_create,
    proposal_position,
    proposal_update,
    proposal_withdraw,
    published_version,
)

PAGE_SIZE = 50


# --- Gates and helpers ---------------------------------------------------------------------


def _gate(request: HttpRequest) -> HttpResponse | None:
    """None for staff; sign-in for anonymous visitors; 403 for other accounts."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_staff_member(request.user):
        raise PermissionDenied("staff only")
    return None


def _spec_of(request: HttpRequest) -> Spec:
    slug = request.GET.get("spec") or request.POST.get("spec") or settings.MODELSPEC_DEFAULT_SPEC
    spec = Spec.objects.filter(slug=slug).first() or Spec.objects.order_by("pk").first()
    if spec is None:
        raise Http404("no spec")
    return spec


def _texts(version: Version | None) -> list[ClauseText]:
    if version is None:
        return []
    return list(
        ClauseText.objects.filter(version=version)
        .order_by("position")
        .only("pk", "anchor", "heading", "number", "level", "authority", "parent", "position")
    )


def _proposal_get(pk: int) -> ChangeProposal:
    proposal = (
        ChangeProposal.objects.select_related(
            "spec", "base_version", "base_text", "author", "draft"
        )
        .filter(pk=pk)
        .first()
    )
    if proposal is None:
        raise Http404("no such proposal")
    return proposal


def _draft_get(pk: int) -> Version:
    version = Version.objects.select_related("spec", "parent").filter(pk=pk).first()
    if version is None:
        raise Http404("no such draft")
    return version


def _form_error(form, error: RevisionError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def _diff(a: str, b: str):
    return render_inline_diff(word_diff(a, b))


# --- Proposals -----------------------------------------------------------------------------


@require_GET
def proposal_list(request: HttpRequest) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    proposals = ChangeProposal.objects.select_related("spec", "base_text", "author").order_by(
        "-created_at", "-pk"
    )
    state = request.GET.get("state", "")
    if state in ChangeProposal.State.values:
        proposals = proposals.filter(state=state)
    else:
        state = ""
    spec_slug = request.GET.get("spec", "")
    if spec_slug:
        proposals = proposals.filter(spec__slug=spec_slug)
    page = Paginator(proposals, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "states": ChangeProposal.State.choices,
        "state": state,
        "specs": list(Spec.objects.order_by("title")),
        "spec_slug": spec_slug,
        "can_draft": has_role(request.user, EDITOR),
    }
    if request.htmx:
        return render(request, "revisions/staff/proposals.html#results", context)
    return render(request, "revisions/staff/proposals.html", context)


def proposal_form_page(
    request: HttpRequest,
    *,
    spec: Spec,
    form: ProposalForm,
    action: str,
    status: int = 200,
    proposal: ChangeProposal | None = None,
    source_html: str = "",
    problem: str = "",
) -> HttpResponse:
    """The proposal form (new or edit), also drawn by the feedback side's "draft a change
    proposal from this item" page (`action` is where it posts)."""
    base = published_version(spec)
    return render(
        request,
        "revisions/staff/proposal_form.html",
        {
            "spec": spec,
            "base": base,
            "form": form,
            "action": action,
            "proposal": proposal,
            "source_html": source_html,
            "problem": problem,
            "read_only": status in (403, 409) and not form.is_bound,
        },
        status=status,
    )


def proposal_form_new(spec: Spec, data=None, initial=None) -> ProposalForm:
    return ProposalForm(data, initial=initial, spec=spec, texts=_texts(published_version(spec)))


def proposal_fields(spec: Spec, form: ProposalForm) -> dict:
    """Service arguments from a valid form (the chosen clause of the published version)."""
    data = form.cleaned_data
    base_text = None
    if data.get("clause") and data["operation"] != ChangeProposal.Operation.ADD:
        base_text = ClauseText.objects.filter(
            version=published_version(spec), anchor=data["clause"]
        ).first()
    return {
        "base_text": base_text,
        "new_anchor": data.get("new_anchor", ""),
        "new_heading": data.get("new_heading", ""),
        "new_body_markdown": data.get("new_body_markdown", ""),
        "new_authority": data.get("new_authority", ""),
        "parent_anchor": data.get("parent_anchor", ""),
        "after_anchor": data.get("after_anchor", ""),
        "rationale": data.get("rationale", ""),
    }


@require_http_methods(["GET", "POST"])
def proposal_new(request: HttpRequest) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    if request.method == "GET" and request.GET.get("item"):
        url = hooks.proposal_form_url(request=request, reference=request.GET["item"])
        if url:
            return HttpResponseRedirect(url)
    spec = _spec_of(request)
    action = reverse("revisions_editor:proposal-new") + f"?spec={spec.slug}"
    if request.method == "GET":
        initial = {
            "operation": request.GET.get("operation") or ChangeProposal.Operation.EDIT,
            "clause": request.GET.get("clause", ""),
        }
        base = published_version(spec)
        text = (
            ClauseText.objects.filter(version=base, anchor=initial["clause"]).first()
            if base
            else None
        )
        if text is not None:
            initial |= {"new_heading": text.heading, "new_body_markdown": text.body_markdown}
        form = proposal_form_new(spec, initial=initial)
        status = 200 if has_role(request.user, EDITOR) else 403
        problem = "" if status == 200 else _("Only editors draft change proposals.")
        return proposal_form_page(
            request, spec=spec, form=form, action=action, status=status, problem=problem
        )
    form = proposal_form_new(spec, data=request.POST)
    if not form.is_valid():
        return proposal_form_page(
            request,
            spec=spec,
            form=form,
            action=action,
            status=400,
            problem=_("Correct the errors below and send again."),
        )
    try:
        proposal = proposal_create(
            acting_user=request.user,
            spec=spec,
            operation=form.cleaned_data["operation"],
            **proposal_fields(spec, form),
        )
    except RevisionError as error:
        _form_error(form, error)
        return proposal_form_page(
            request, spec=spec, form=form, action=action, status=error.status, problem=error.message
        )
    messages.success(request, _("Proposal P%(pk)s is in review.") % {"pk": proposal.pk})
    return HttpResponseRedirect(proposal.get_absolute_url(), status=303)


def _proposal_context(request: HttpRequest, proposal: ChangeProposal, **extra) -> dict:
    user = request.user
    base = proposal.base_text
    old_body = base.body_markdown if base else ""
    new_body = proposal.new_body_markdown
    if proposal.operation == ChangeProposal.Operation.REMOVE:
        new_body = ""
    elif proposal.operation in (ChangeProposal.Operation.MOVE, ChangeProposal.Operation.AUTHORITY):
        new_body = old_body
    positions = list(
        ProposalPosition.objects.filter(proposal=proposal)
        .select_related("reviewer")
        .order_by("-review_round", "created_at", "pk")
    )
    mine = next(
        (
            p
            for p in positions
            if p.reviewer_id == user.pk and p.review_round == proposal.review_round
        ),
        None,
    )
    is_open = proposal.state in (ChangeProposal.State.IN_REVIEW, ChangeProposal.State.ACCEPTED)
    context = {
        "proposal": proposal,
        "base": base,
        "diff": _diff(old_body, new_body),
        "heading_diff": _diff(base.heading, proposal.new_heading)
        if base and proposal.new_heading and proposal.new_heading != base.heading
        else "",
        "approval": proposal_approval(proposal),
        "positions": [p for p in positions if p.review_round == proposal.review_round],
        "earlier_positions": [p for p in positions if p.review_round != proposal.review_round],
        "can_position": has_role(user, REVIEWER, EDITOR)
        and proposal.state == ChangeProposal.State.IN_REVIEW,
        "position_form": PositionForm(
            initial={"position": mine.position, "rationale": mine.rationale} if mine else None
        ),
        "can_withdraw": is_open and (has_role(user, EDITOR) or proposal.author_id == user.pk),
        "withdraw_form": WithdrawForm(),
        "can_edit": may_edit(user, proposal),
        "extras": hooks.proposal_extras(request=request, proposal=proposal),
        "problem": "",
    }
    context.update(extra)
    return context


@require_GET
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    proposal = _proposal_get(pk)
    return render(request, "revisions/staff/proposal.html", _proposal_context(request, proposal))


def _proposal_refused(request, proposal, error: RevisionError, **extra) -> HttpResponse:
    proposal = _proposal_get(proposal.pk)
    return render(
        request,
        "revisions/staff/proposal.html",
        _proposal_context(request, proposal, problem=error.message, **extra),
        status=error.status,
    )


@require_POST
def proposal_position_view(request: HttpRequest, pk: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    proposal = _proposal_get(pk)
    form = PositionForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "revisions/staff/proposal.html",
            _proposal_context(
                request,
                proposal,
                position_form=form,
                problem=_("Correct the errors below and send again."),
            ),
            status=400,
        )
    try:
        proposal = proposal_position(
            acting_user=request.user,
            proposal=proposal,
            position=form.cleaned_data["position"],
            rationale=form.cleaned_data["rationale"],
        )
    except RevisionError as error:
        _form_error(form, error)
        return _proposal_refused(request, proposal, error, position_form=form)
    messages.success(
        request,
        _("Position recorded. The proposal is now “%(state)s”.")
        % {"state": proposal.get_state_display()},
    )
    return HttpResponseRedirect(proposal.get_absolute_url(), status=303)


@require_POST
def proposal_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    proposal = _proposal_get(pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "revisions/staff/proposal.html",
            _proposal_context(request, proposal, withdraw_form=form),
            status=400,
        )
    try:
        proposal = proposal_withdraw(
            acting_user=request.user, proposal=proposal, rationale=form.cleaned_data["rationale"]
        )
    except RevisionError as error:
        return _proposal_refused(request, proposal, error)
    messages.success(request, _("The proposal was withdrawn."))
    return HttpResponseRedirect(proposal.get_absolute_url(), status=303)


@require_http_methods(["GET", "POST"])
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    proposal = _proposal_get(pk)
    spec = proposal.spec
    action = reverse("revisions_editor:proposal-edit", kwargs={"pk": proposal.pk})
    texts = _texts(proposal.base_version)
    if request.method == "GET":
        form = ProposalForm(
            initial={
                "operation": proposal.operation,
                "clause": proposal.base_text.anchor if proposal.base_text_id else "",
                "new_anchor": proposal.new_anchor,
                "new_heading": proposal.new_heading,
                "new_body_markdown": proposal.new_body_markdown,
                "new_authority": proposal.new_authority,
                "parent_anchor": proposal.parent_anchor,
                "after_anchor": proposal.after_anchor,
                "rationale": proposal.rationale,
            },
            spec=spec,
            texts=texts,
        )
        allowed = may_edit(request.user, proposal)
        return proposal_form_page(
            request,
            spec=spec,
            form=form,
            action=action,
            proposal=proposal,
            status=200 if allowed else 409 if has_role(request.user, EDITOR) else 403,
            problem=""
            if allowed
            else _("Only editors change proposals, and only while they are in review."),
        )
    form = ProposalForm(request.POST, spec=spec, texts=texts)
    if not form.is_valid():
        return proposal_form_page(
            request,
            spec=spec,
            form=form,
            action=action,
            proposal=proposal,
            status=400,
            problem=_("Correct the errors below and send again."),
        )
    fields = proposal_fields(spec, form)
    if proposal.operation == ChangeProposal.Operation.ADD:
        fields["base_text"] = None
    try:
        proposal = proposal_update(acting_user=request.user, proposal=proposal, **fields)
    except RevisionError as error:
        _form_error(form, error)
        return proposal_form_page(
            request,
            spec=spec,
            form=form,
            action=action,
            proposal=proposal,
            status=error.status,
            problem=error.message,
        )
    messages.success(request, _("The proposal was changed; its review starts again."))
    return HttpResponseRedirect(proposal.get_absolute_url(), status=303)


# --- Drafts --------------------------------------------------------------------------------


def _drafts_page(request: HttpRequest, *, form=None, status: int = 200, problem: str = ""):
    specs = list(Spec.objects.order_by("title"))
    drafts = list(
        Version.objects.filter(state=Version.State.DRAFT)
        .select_related("spec", "parent")
        .defer("source_markdown")
        .order_by("spec__title", "-created_at")
    )
    return render(
        request,
        "revisions/staff/drafts.html",
        {
            "drafts": drafts,
            "form": form or DraftStartForm(specs=specs),
            "can_edit": has_role(request.user, EDITOR),
            "problem": problem,
        },
        status=status,
    )


@require_GET
def draft_list(request: HttpRequest) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    return _drafts_page(request)


@require_POST
def draft_start_view(request: HttpRequest) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    form = DraftStartForm(request.POST, specs=list(Spec.objects.order_by("title")))
    if not form.is_valid():
        return _drafts_page(
            request, form=form, status=400, problem=_("Correct the errors below and send again.")
        )
    spec = Spec.objects.get(slug=form.cleaned_data["spec"])
    try:
        draft = draft_start(acting_user=request.user, spec=spec, label=form.cleaned_data["label"])
    except RevisionError as error:
        _form_error(form, error)
        return _drafts_page(request, form=form, status=error.status, problem=error.message)
    messages.success(request, _("Draft %(label)s started.") % {"label": draft.label})
    return HttpResponseRedirect(
        reverse("revisions_editor:draft", kwargs={"pk": draft.pk}), status=303
    )


def _builder_context(request: HttpRequest, draft: Version, **extra) -> dict:
    is_draft = draft.state == Version.State.DRAFT
    context = {
        "draft": draft,
        "is_draft": is_draft,
        "can_edit": is_draft and has_role(request.user, EDITOR),
        "rows": draft_proposals(draft) if is_draft else [],
        "texts": _texts(draft),
        "problem": "",
        "done": "",
    }
    context.update(extra)
    return context


@require_GET
def draft_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    draft = _draft_get(pk)
    return render(request, "revisions/staff/draft.html", _builder_context(request, draft))


@require_POST
def draft_apply(request: HttpRequest, pk: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    draft = _draft_get(pk)
    form = ApplyForm(request.POST)
    proposal = None
    if form.is_valid():
        proposal = ChangeProposal.objects.filter(pk=form.cleaned_data["proposal"]).first()
    status, problem, done = 200, "", ""
    if proposal is None:
        status, problem = 400, _("There is no such proposal.")
    else:
        try:
            draft = draft_apply_proposal(acting_user=request.user, draft=draft, proposal=proposal)
            done = _("Proposal P%(pk)s applied.") % {"pk": proposal.pk}
        except RevisionError as error:
            status, problem = error.status, error.message
    if request.htmx:
        context = _builder_context(request, draft, problem=problem, done=done, fragment=True)
        return render(request, "revisions/staff/draft.html#proposals", context)
    if not problem:
        messages.success(request, done)
        return HttpResponseRedirect(
            reverse("revisions_editor:draft", kwargs={"pk": draft.pk}), status=303
        )
    return render(
        request,
        "revisions/staff/draft.html",
        _builder_context(request, draft, problem=problem),
        status=status,
    )


@require_http_methods(["GET", "POST"])
def draft_clause(request: HttpRequest, pk: int, clause_id: str) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    draft = _draft_get(pk)
    text = ClauseText.objects.filter(version=draft, anchor=clause_id).first()
    if text is None:
        raise Http404("no such clause in this draft")
    allowed = draft.state == Version.State.DRAFT and has_role(request.user, EDITOR)
    problem, status = "", 200
    if request.method == "GET":
        form = ClauseEditForm(
            initial={
                "heading": text.heading,
                "body_markdown": text.body_markdown,
                "authority": text.authority,
            },
            spec=draft.spec,
        )
        if not allowed:
            status, problem = 403, _("Only editors change a draft's clauses.")
    else:
        form = ClauseEditForm(request.POST, spec=draft.spec)
        if not form.is_valid():
            status, problem = 400, _("Correct the errors below and send again.")
        else:
            try:
                draft_edit_clause(
                    acting_user=request.user,
                    draft=draft,
                    anchor=text.anchor,
                    heading=form.cleaned_data["heading"],
                    body_markdown=form.cleaned_data["body_markdown"],
                    authority=form.cleaned_data["authority"],
                )
            except RevisionError as error:
                _form_error(form, error)
                status, problem = error.status, error.message
            else:
                messages.success(request, _("Clause #%(id)s saved.") % {"id": text.anchor})
                url = reverse("revisions_editor:draft", kwargs={"pk": draft.pk})
                return HttpResponseRedirect(f"{url}#clause-{text.anchor}", status=303)
    return render(
        request,
        "revisions/staff/draft_clause.html",
        {"draft": draft, "text": text, "form": form, "allowed": allowed, "problem": problem},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def draft_import(request: HttpRequest, pk: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    draft = _draft_get(pk)
    allowed = draft.state == Version.State.DRAFT and has_role(request.user, EDITOR)
    problem, status = "", 200
    if request.method == "GET":
        form = ImportForm()
        if not allowed:
            status, problem = 403, _("Only editors replace a draft's text.")
    else:
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            status, problem = 400, _("Correct the errors below and send again.")
        else:
            try:
                draft_import_markdown(
                    acting_user=request.user, draft=draft, data=form.cleaned_data["source"].read()
                )
            except SpecSyntaxError as error:
                message = (
                    _("Line %(line)s: %(message)s") % {"line": error.line, "message": error.message}
                    if error.line
                    else error.message
                )
                form.add_error("source", message)
                status, problem = 400, _("The file was not imported; the draft is unchanged.")
            except RevisionError as error:
                form.add_error(None, error.message)
                status, problem = error.status, error.message
            else:
                messages.success(request, _("The draft's text was replaced."))
                return HttpResponseRedirect(
                    reverse("revisions_editor:draft", kwargs={"pk": draft.pk}), status=303
                )
    return render(
        request,
        "revisions/staff/draft_import.html",
        {"draft": draft, "form": form, "allowed": allowed, "problem": problem},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def draft_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    draft = _draft_get(pk)
    allowed = draft.state == Version.State.DRAFT and has_role(request.user, EDITOR)
    problem, status = "", 200
    if request.method == "POST":
        try:
            draft_delete(acting_user=request.user, draft=draft)
        except RevisionError as error:
            status, problem = error.status, error.message
        else:
            messages.success(request, _("Draft %(label)s deleted.") % {"label": draft.label})
            return HttpResponseRedirect(reverse("revisions_editor:drafts"), status=303)
    elif not allowed:
        status, problem = 403, _("Only editors delete drafts, and only unpublished ones.")
    return render(
        request,
        "revisions/staff/draft_delete.html",
        {"draft": draft, "allowed": allowed, "problem": problem},
        status=status,
    )
