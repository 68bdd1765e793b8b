"""Reading pages. Function views, one selector call each; the big reader body is rendered once
per (version text, language) and then served from memory, so the full spec costs about as much
as a trivial page."""

from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from . import hooks, selectors
from .models import Version

# Bump when the reader templates change, so cached bodies are drawn again.
READER_TEMPLATE_REVISION = "3"


def _reader_body(request: HttpRequest, version: Version) -> str:
    """The table of contents and every clause, as HTML. Published text is immutable and a
    draft's text changes only with its source hash, so the key can never serve stale text.

    The cached text is the same for every viewer; what differs per viewer (feedback counts…)
    comes from the reader hooks, swapped into the clause markers on each request."""
    key = ":".join(
        ["reader", READER_TEMPLATE_REVISION, str(version.pk), version.source_hash, get_language()]
    )
    cache = caches["pages"]
    body = cache.get(key)
    if body is None:
        texts = selectors.version_clause_texts(version=version)
        body = render_to_string(
            "revisions/_reader_body.html", {"version": version, "texts": texts}, request=request
        )
        cache.set(key, body)
    body = hooks.fill_clause_markers(body, request=request, version=version)
    # Our templates and sanitised stored HTML; hook output is escaped unless already safe.
    return mark_safe(body)  # noqa: S308


def _reader(request: HttpRequest, version: Version, *, is_home: bool) -> HttpResponse:
    return render(
        request,
        "revisions/reader.html",
        {"version": version, "spec": version.spec, "body": _reader_body(request, version),
         "is_home": is_home, "page_end": hooks.page_end(request=request)},
    )  # fmt: skip


@require_GET
@vary_on_headers("Cookie")
def home(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    version = selectors.version_current(
        viewer=request.user, spec_slug=settings.MODELSPEC_DEFAULT_SPEC
    )
    if version is None:
        return render(request, "revisions/empty.html", status=200)
    return _reader(request, version, is_home=True)


@require_GET
def spec_detail(request: HttpRequest, spec: str) -> HttpResponse:
    spec_obj = selectors.spec_get(slug=spec)
    versions = selectors.version_list(viewer=request.user, spec=spec_obj)
    return render(request, "revisions/spec.html", {"spec": spec_obj, "versions": versions})


@require_GET
def version_detail(request: HttpRequest, spec: str, label: str) -> HttpResponse:
    version = selectors.version_get(viewer=request.user, spec_slug=spec, label=label)
    return _reader(request, version, is_home=False)


@require_GET
def version_source(request: HttpRequest, spec: str, label: str) -> HttpResponse:
    """The Markdown exactly as imported (CC0 text), for anyone who wants the source."""
    version = selectors.version_get(viewer=request.user, spec_slug=spec, label=label)
    response = HttpResponse(version.source_markdown, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{version.spec.slug}-{version.label}.md"'
    return response


@require_GET
def clause_detail(request: HttpRequest, spec: str, label: str, clause_id: str) -> HttpResponse:
    version = selectors.version_get(viewer=request.user, spec_slug=spec, label=label)
    text = selectors.clause_text_get(version=version, anchor=clause_id)
    text.version = version
    appearances = selectors.clause_versions(viewer=request.user, clause_text=text)
    extras = hooks.clause_page_extras(request=request, version=version, clause_text=text)
    return render(
        request,
        "revisions/clause.html",
        {"spec": version.spec, "version": version, "text": text, "appearances": appearances,
         "heading_extras": extras.heading, "extra_section": extras.section,
         "page_end": hooks.page_end(request=request)},
    )  # fmt: skip


@require_GET
def clause_latest(request: HttpRequest, spec: str, clause_id: str) -> HttpResponse:
    """A version-independent link to a clause: the current published text of it."""
    text = selectors.clause_latest(viewer=request.user, spec_slug=spec, anchor=clause_id)
    return redirect(text.get_absolute_url())
