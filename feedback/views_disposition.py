"""A version's disposition report: the page (paginated), and the whole report as CSV and JSON
(streamed). Public for published and superseded versions; a draft's report only for those who
may read drafts. The API (`GET /api/v1/specs/{spec}/versions/{label}/disposition/`) sends the
same JSON as `disposition.json`."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from revisions.selectors import version_get

from .disposition import csv_chunks, json_chunks, version_disposition
from .models import AnchorOutcome, State

PAGE_SIZE = 200


def _filename(version, extension: str) -> str:
    return f"{version.spec.slug}-{version.label}-disposition.{extension}"


def _counts(response: HttpResponse, report) -> HttpResponse:
    response["X-Received"] = str(report.received)
    response["X-Listed"] = str(report.listed)
    response["X-Withheld"] = str(report.withheld)
    return response


def _labelled(rows) -> list[dict]:
    """Rows with the words the page shows for their codes."""
    out = []
    for row in rows:
        row["state"] = State(row["state"]).label
        row["decision"] = State(row["decision"]).label if row["decision"] else ""
        if row["carried_outcome"]:
            row["carried_outcome"] = AnchorOutcome(row["carried_outcome"]).label
        out.append(row)
    return out


@require_GET
def disposition_page(request: HttpRequest, spec: str, label: str) -> HttpResponse:
    version = version_get(viewer=request.user, spec_slug=spec, label=label)
    report = version_disposition(viewer=request.user, version=version)
    # Pages over the count already known: no second COUNT query.
    page = Paginator(range(report.listed), PAGE_SIZE).get_page(request.GET.get("page"))
    offset = (page.number - 1) * PAGE_SIZE
    return render(
        request,
        "feedback/disposition.html",
        {"spec": version.spec, "version": version, "report": report,
         "rows": _labelled(report.rows(offset=offset, limit=PAGE_SIZE)), "page": page},
    )  # fmt: skip


@require_GET
def disposition_csv(request: HttpRequest, spec: str, label: str) -> StreamingHttpResponse:
    version = version_get(viewer=request.user, spec_slug=spec, label=label)
    report = version_disposition(viewer=request.user, version=version)
    response = StreamingHttpResponse(csv_chunks(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(version, "csv")}"'
    return _counts(response, report)


@require_GET
def disposition_json(request: HttpRequest, spec: str, label: str) -> StreamingHttpResponse:
    version = version_get(viewer=request.user, spec_slug=spec, label=label)
    report = version_disposition(viewer=request.user, version=version)
    response = StreamingHttpResponse(json_chunks(report), content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="{_filename(version, "json")}"'
    return _counts(response, report)
