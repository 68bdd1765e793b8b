"""The lineage page of a version under /staff/: its clauses grouped by what happened to them
since the parent, and, for a draft, the editor's corrections (set a clause's predecessor, say
a clause is really new or really removed, withdraw a correction).

Editors correct; other staff read. Anonymous visitors are sent to sign in; signed-in accounts
without a staff role get a 404, as for a version that does not exist."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from modelspec_site.accounts.roles import EDITOR, has_role, is_staff_member

from .lineage_store import (
    lineage_override_clear,
    lineage_override_set,
    lineage_overrides,
    lineage_view,
)
from .models import LineageKind, LineageOverride, Version
from .services import VersionStateError

TEMPLATE = "revisions/staff/lineage.html"
ADDED = ""  # the predecessor choice that says "really added"


class OverrideForm(forms.Form):
    """Set the predecessor of one clause of the draft (or say it is new)."""

    new_anchor = forms.ChoiceField(label=gettext_lazy("Clause of the draft"))
    old_anchor = forms.ChoiceField(label=gettext_lazy("Its predecessor"), required=False)
    keep_others = forms.BooleanField(
        label=gettext_lazy("Keep its other predecessors (a merge)"), required=False
    )

    def __init__(self, *args, old_anchors, new_anchors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_anchor"].choices = [(a, a) for a in new_anchors]
        self.fields["old_anchor"].choices = [(ADDED, _("None: it is new"))] + [
            (a, a) for a in old_anchors
        ]


class RemovalForm(forms.Form):
    """Say a clause of the parent is really removed (no successor)."""

    old_anchor = forms.ChoiceField(label=gettext_lazy("Clause of the previous version"))

    def __init__(self, *args, old_anchors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_anchor"].choices = [(a, a) for a in old_anchors]


def _gate(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_staff_member(request.user):
        raise Http404("no such page")
    return None


def _version(pk: int) -> Version:
    version = Version.objects.select_related("spec", "parent").filter(pk=pk).first()
    if version is None:
        raise Http404("no such version")
    return version


def _page(request, version, *, override_form=None, removal_form=None, status=200, problem=""):
    view = lineage_view(version)
    old_anchors, new_anchors = list(view.old), list(view.new)
    order = {kind: n for n, kind in enumerate(LineageKind.values)}
    groups: dict[str, list] = {}
    for link in view.links:
        groups.setdefault(link.kind, []).append(
            {
                "link": link,
                "old": view.old.get(link.old_anchor or ""),
                "new": view.new.get(link.new_anchor or ""),
            }
        )
    labels = dict(LineageKind.choices)
    grouped = [
        {"kind": kind, "label": labels[kind], "rows": rows}
        for kind, rows in sorted(groups.items(), key=lambda item: order[item[0]])
    ]
    editable = version.state == Version.State.DRAFT and version.parent_id is not None
    can_edit = editable and has_role(request.user, EDITOR)
    initial_new = request.GET.get("new", "")
    context = {
        "version": version,
        "view": view,
        "groups": grouped,
        "summary": [(group["label"], len(group["rows"])) for group in grouped],
        "overrides": list(lineage_overrides(version)) if version.parent_id else [],
        "editable": editable,
        "can_edit": can_edit,
        "override_form": override_form
        or OverrideForm(
            old_anchors=old_anchors,
            new_anchors=new_anchors,
            initial={"new_anchor": initial_new} if initial_new in view.new else None,
        ),
        "removal_form": removal_form or RemovalForm(old_anchors=old_anchors),
        "problem": problem,
    }
    return render(request, TEMPLATE, context, status=status)


@require_GET
def lineage(request: HttpRequest, pk: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    return _page(request, _version(pk))


def _may_correct(request: HttpRequest, version: Version) -> None:
    if not has_role(request.user, EDITOR):
        raise PermissionDenied(_("Only editors can correct the lineage."))


def _after(request: HttpRequest, version: Version, message: str) -> HttpResponse:
    messages.success(request, message)
    url = reverse("revisions_editor:lineage", kwargs={"pk": version.pk})
    return HttpResponseRedirect(url, status=303)


def _service_error(request, version, error, **forms_) -> HttpResponse:
    if isinstance(error, VersionStateError):
        return _page(
            request,
            version,
            status=409,
            problem=_("Only a draft's lineage can be corrected; this version is %(state)s.")
            % {"state": version.get_state_display()},
            **forms_,
        )
    return _page(request, version, status=400, problem=" ".join(error.messages), **forms_)


@require_POST
def lineage_override(request: HttpRequest, pk: int) -> HttpResponse:
    """Set a predecessor (form `predecessor`) or a removal (form `removal`)."""
    if (gate := _gate(request)) is not None:
        return gate
    version = _version(pk)
    _may_correct(request, version)
    view = lineage_view(version)
    old_anchors, new_anchors = list(view.old), list(view.new)
    if request.POST.get("form") == "removal":
        form = RemovalForm(request.POST, old_anchors=old_anchors)
        if not form.is_valid():
            return _page(request, version, removal_form=form, status=400)
        old_anchor, new_anchor, replace = form.cleaned_data["old_anchor"], "", False
        done = _("%(old)s is now marked as removed.") % {"old": old_anchor}
        forms_ = {"removal_form": form}
    else:
        form = OverrideForm(request.POST, old_anchors=old_anchors, new_anchors=new_anchors)
        if not form.is_valid():
            return _page(request, version, override_form=form, status=400)
        old_anchor = form.cleaned_data["old_anchor"]
        new_anchor = form.cleaned_data["new_anchor"]
        replace = not form.cleaned_data["keep_others"]
        done = (
            _("%(new)s now follows %(old)s.") % {"new": new_anchor, "old": old_anchor}
            if old_anchor
            else _("%(new)s is now marked as new.") % {"new": new_anchor}
        )
        forms_ = {"override_form": form}
    try:
        lineage_override_set(
            version=version,
            old_anchor=old_anchor,
            new_anchor=new_anchor,
            acting_user=request.user,
            replace=replace,
        )
    except (VersionStateError, ValidationError) as error:
        return _service_error(request, version, error, **forms_)
    return _after(request, version, done)


@require_POST
def lineage_override_clear_view(request: HttpRequest, pk: int, override_id: int) -> HttpResponse:
    if (gate := _gate(request)) is not None:
        return gate
    version = _version(pk)
    _may_correct(request, version)
    override = LineageOverride.objects.filter(pk=override_id, version=version).first()
    if override is None:
        raise Http404("no such correction")
    try:
        lineage_override_clear(override=override, acting_user=request.user)
    except (VersionStateError, ValidationError) as error:
        return _service_error(request, version, error)
    return _after(request, version, _("The correction was withdrawn."))
