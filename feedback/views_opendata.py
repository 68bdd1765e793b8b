"""Open data: the page that describes the downloads, and the streamed downloads themselves.

Always the public view, whoever asks (`feedback.opendata`)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import opendata


@require_GET
def data_index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "feedback/data.html",
        {
            "datasets": list(opendata.DATASETS.values()),
            "formats": list(opendata.FORMATS),
            "feedback_licence": settings.OPEN_DATA_LICENSE,
            "formula_starts": " ".join(c for c in opendata.FORMULA_STARTS if c.isprintable()),
        },
    )


@require_GET
def data_download(request: HttpRequest, dataset: str, fmt: str) -> StreamingHttpResponse:
    if dataset not in opendata.DATASETS or fmt not in opendata.FORMATS:
        raise Http404("no such data set")
    base_url = request.build_absolute_uri("/").rstrip("/")
    response = StreamingHttpResponse(
        opendata.dataset_stream(name=dataset, fmt=fmt, base_url=base_url),
        content_type=opendata.FORMATS[fmt],
    )
    response["Content-Disposition"] = f'attachment; filename="{dataset}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
