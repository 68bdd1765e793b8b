"""The auditor's view of the ledger (/staff/audit/) and the public checkpoints and exports
(/audit/).

Staff pages are for auditors (and superusers) only, read-only, behind the staff two-factor
middleware: an anonymous visitor is sent to sign in, a signed-in account without a staff role
gets 404 (the pages do not exist for them), other staff get 403. Every page an auditor opens
and every export is itself a ledger event (`audit.viewed`, `audit.exported`; internal) whose
data holds the filters used, so "who saw or exported what" is the ledger filtered on
``action=audit``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import wraps
from pathlib import Path

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from modelspec_site.accounts.roles import AUDITOR, has_role, is_staff_member
from modelspec_site.audit import chain, checkpoints, exports, selectors
from modelspec_site.audit.ledger import LedgerFilterForm, ledger_page
from modelspec_site.audit.models import Checkpoint, Event, Visibility
from modelspec_site.audit.services import audit_record

TIMELINE_PAGE = 100
CHECKPOINTS_PAGE = 50


def auditor_only(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff_member(request.user):
            raise Http404
        if not has_role(request.user, AUDITOR):
            raise PermissionDenied(_("Only auditors may read the ledger."))
        return view(request, *args, **kwargs)

    return wrapped


def audit_access_record(*, viewer, action: str, data: dict) -> Event:
    """Record that an auditor viewed or exported part of the ledger (internal event)."""
    with transaction.atomic():
        return audit_record(actor=viewer, action=action, data=data, visibility=Visibility.INTERNAL)


def _with(params: dict[str, str], **more) -> str:
    merged = {k: v for k, v in (params | more).items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else "?"


@require_GET
@auditor_only
def ledger(request: HttpRequest) -> HttpResponse:
    form = LedgerFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/ledger.html", {"form": form, "page": None}, status=400)
    filters = form.used_filters()
    audit_access_record(
        viewer=request.user,
        action="audit.viewed",
        data={"page": "ledger", "filters": filters, "before": form.cleaned_data.get("before")},
    )
    page = ledger_page(selectors.event_list(viewer=request.user), form.cleaned_data)
    context = {
        "form": form,
        "page": page,
        "next_url": _with(filters, before=page.next_before) if page.next_before else "",
        "access_url": _with({"action": "audit"}),
        "filters": filters,
    }
    return render(request, "audit/ledger.html", context)


@require_GET
@auditor_only
def event_detail(request: HttpRequest, seq: int) -> HttpResponse:
    event = get_object_or_404(selectors.event_list(viewer=request.user), seq=seq)
    audit_access_record(
        viewer=request.user, action="audit.viewed", data={"page": "event", "seq": seq}
    )
    fields = event.chain_fields()
    canonical = chain.canonical_bytes(fields).decode()
    recomputed = chain.event_hash(fields)
    previous = Event.objects.filter(seq=seq - 1).values_list("hash", flat=True).first()
    context = {
        "event": event,
        "canonical": canonical,
        "pretty": json.dumps(json.loads(canonical), indent=2, ensure_ascii=False),
        "recomputed": recomputed,
        "hash_ok": recomputed == event.hash,
        # What was stored at append time, and whether it still says what the columns say.
        "stored_ok": event.canonical == canonical,
        "stored_hash_ok": hashlib.sha256(event.canonical.encode()).hexdigest() == event.hash,
        "link_ok": (previous or chain.GENESIS_HASH) == event.prev_hash,
        "has_next": Event.objects.filter(seq=seq + 1).exists(),
    }
    return render(request, "audit/event.html", context)


@require_GET
@auditor_only
def subject_timeline(request: HttpRequest, subject_type: str, subject_id: str) -> HttpResponse:
    if not chain.SUBJECT_TYPE_RE.match(subject_type) or not subject_id:
        raise Http404
    try:
        after = int(request.GET.get("after") or 0)
    except ValueError:
        after = -1
    if after < 0:
        return render(request, "audit/timeline.html", {"error": _("Bad page link.")}, status=400)
    audit_access_record(
        viewer=request.user,
        action="audit.viewed",
        data={"page": "timeline", "subject": {"type": subject_type, "id": subject_id}},
    )
    ref = {"type": subject_type, "id": subject_id}
    events = list(
        selectors.event_list_for_subject(ref, viewer=request.user).filter(seq__gt=after)[
            : TIMELINE_PAGE + 1
        ]
    )
    more = len(events) > TIMELINE_PAGE
    events = events[:TIMELINE_PAGE]
    label = next(
        (
            s.get("label", "")
            for e in events
            for s in e.subjects
            if s.get("type") == subject_type and s.get("id") == subject_id
        ),
        "",
    )
    context = {
        "events": events,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "subject_label": label,
        "next_url": f"?after={events[-1].seq}" if more else "",
    }
    return render(request, "audit/timeline.html", context)


def _export_response(stream, fmt: str, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type=exports.FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def ledger_export_full(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    """Record the export, then stream every event in full (auditors; views and the API)."""
    head = Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    audit_access_record(
        viewer=request.user,
        action="audit.exported",
        data={"scope": "full", "format": fmt, "head_seq_before": head},
    )
    return _export_response(exports.export_stream(fmt, public=False), fmt, "ledger-full")


@require_GET
@auditor_only
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in exports.FORMATS:
        raise Http404
    return ledger_export_full(request, fmt)


# --- Public -------------------------------------------------------------------------------------


@require_GET
def public_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The public chain: public events in full, internal ones redacted (no content)."""
    if fmt not in exports.FORMATS:
        raise Http404
    return _export_response(exports.export_stream(fmt, public=True), fmt, "ledger-public")


@require_GET
def checkpoint_list(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(Checkpoint.objects.order_by("-day"), CHECKPOINTS_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "page": page,
        "key_id": chain.public_key_id(checkpoints.public_key_raw()),
    }
    return render(request, "audit/checkpoints.html", context)


@require_GET
def checkpoint_json(request: HttpRequest, day: str) -> JsonResponse:
    checkpoint = Checkpoint.objects.filter(day=_day_or_404(day)).first()
    if checkpoint is None:
        raise Http404
    response = JsonResponse(checkpoint.as_dict() | {"day": day})
    response["Content-Disposition"] = f'attachment; filename="checkpoint-{day}.json"'
    return response


def _day_or_404(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Http404 from None


@require_GET
def public_key(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(checkpoints.public_key_pem(), content_type="text/plain; charset=utf-8")
    response["X-Key-Id"] = chain.public_key_id(checkpoints.public_key_raw())
    return response


@require_GET
def verifier_script(request: HttpRequest) -> HttpResponse:
    """The standalone offline verifier: `chain.py` itself (standard library only)."""
    source = Path(chain.__file__).read_text(encoding="utf-8")
    response = HttpResponse(source, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="verify_ledger_export.py"'
    return response
