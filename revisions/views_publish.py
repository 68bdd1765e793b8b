"""Publishing from the draft builder: the button (POST), the job's progress page (polled by
htmx every second while the job is queued or running) and "retry" for a failed job.

Editors publish; other staff may watch a job; anonymous visitors are sent to sign in and
signed-in accounts without a staff role get a 404, as for a job that does not exist."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from modelspec_site.accounts.roles import EDITOR, has_role, is_staff_member

from . import publishing
from .models import PublishJob, Version

TEMPLATE = "revisions/staff/publish.html"
# What the page calls the steps publishing reports (listeners may report others: shown as is).
STEP_LABELS = {
    "queued": gettext_lazy("Waiting for a worker"),
    "starting": gettext_lazy("Starting"),
    "lineage": gettext_lazy("Matching clauses with the previous version"),
    "listeners": gettext_lazy("Carrying feedback forward"),
    "done": gettext_lazy("Done"),
}


def _gate(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_staff_member(request.user):
        raise Http404("no such page")
    return None


def _refused(request: HttpRequest, message: str, *, status: int, version=None, job=None):
    return render(
        request,
        "revisions/staff/publish_refused.html",
        {"message": message, "version": version, "job": job},
        status=status,
    )


@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Start publishing draft `pk` and go to its job's page."""
    gate = _gate(request)
    if gate is not None:
        return gate
    version = Version.objects.select_related("spec").filter(pk=pk).first()
    if version is None:
        raise Http404("no such draft")
    if not has_role(request.user, EDITOR):
        raise PermissionDenied("Only editors publish versions.")
    try:
        job = publishing.publish_start(acting_user=request.user, version=version)
    except publishing.PublishError as exc:
        return _refused(request, str(exc), status=409, version=version)
    return redirect("revisions_editor:publish-job", job_id=job.pk)


@require_GET
def publish_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """The job's page; with htmx, only its progress region (which stops polling once the job
    is done or failed)."""
    gate = _gate(request)
    if gate is not None:
        return gate
    job = publishing.job_get(job_id=job_id)
    if job is None:
        raise Http404("no such publication")
    context = {
        "job": job,
        "version": job.version,
        "active": job.state in publishing.ACTIVE_STATES,
        "can_retry": job.state == PublishJob.State.FAILED and has_role(request.user, EDITOR),
        "step_label": STEP_LABELS.get(job.step, job.step),
        "percent": round(100 * job.done / job.total) if job.total else 0,
    }
    template = f"{TEMPLATE}#progress" if request.htmx else TEMPLATE
    return render(request, template, context)


@require_POST
def publish_retry(request: HttpRequest, job_id: int) -> HttpResponse:
    gate = _gate(request)
    if gate is not None:
        return gate
    job = publishing.job_get(job_id=job_id)
    if job is None:
        raise Http404("no such publication")
    if not has_role(request.user, EDITOR):
        raise PermissionDenied("Only editors publish versions.")
    try:
        job = publishing.publish_retry(acting_user=request.user, job=job)
    except publishing.PublishError as exc:
        return _refused(request, str(exc), status=409, version=job.version, job=job)
    return redirect("revisions_editor:publish-job", job_id=job.pk)
