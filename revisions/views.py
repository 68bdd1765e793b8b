"""Reading pages. Function views, one selector call each; the big reader body is rendered once
per (version text, language) and then served from memory, so the full spec costs about as much
as a trivial page."""

import threading
from collections import OrderedDict

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from . import gzipjoin, hooks, pagecache, selectors
from .models import Version

# Bump when the reader templates change, so cached bodies are drawn again.
READER_TEMPLATE_REVISION = "4"
# Prepared reader bodies, per process: (version, source hash, language, revision) -> bytes cut
# at the clause markers. A plain dict, not Django's LocMemCache, which would unpickle a copy of
# a few hundred KB on every request. Published text is immutable and a draft's text changes
# only with its source hash, so an entry can never be stale; the size bound keeps memory flat.
_READER_BODIES: OrderedDict[tuple, hooks.PreparedBody] = OrderedDict()
_READER_BODIES_MAX = 32
_READER_LOCK = threading.Lock()
# Where the body goes in the rendered page; split out as bytes, never sent.
_BODY_SLOT = "\x00reader-body\x00"


def reader_cache_clear() -> None:
    """Forget prepared bodies and pages (tests; nothing in production needs it)."""
    with _READER_LOCK:
        _READER_BODIES.clear()
    pagecache.clear()


def _reader_body(request: HttpRequest, version: Version) -> bytes:
    """The table of contents and every clause as UTF-8 HTML, the same for every viewer except
    what the reader hooks add per clause (feedback counts…)."""
    key = (version.pk, version.source_hash, get_language(), READER_TEMPLATE_REVISION)
    with _READER_LOCK:
        prepared = _READER_BODIES.get(key)
        if prepared is not None:
            _READER_BODIES.move_to_end(key)
    if prepared is None:
        texts = selectors.version_clause_texts(version=version)
        body = render_to_string(
            "revisions/_reader_body.html", {"version": version, "texts": texts}, request=request
        )
        prepared = hooks.prepare_body(body)
        with _READER_LOCK:
            _READER_BODIES[key] = prepared
            while len(_READER_BODIES) > _READER_BODIES_MAX:
                _READER_BODIES.popitem(last=False)
    return hooks.fill_prepared(prepared, request=request, version=version)


def _page_key(request: HttpRequest, ident: tuple) -> tuple | None:
    """The anonymous-page cache key for this request, or None when it must be rendered."""
    if not pagecache.eligible(request):
        return None
    gen = pagecache.generation()
    if gen is None:
        return None
    return (*ident, get_language(), gen, READER_TEMPLATE_REVISION)


def _serve_page(request: HttpRequest, page: pagecache.Page, csrf: str, nonce: str) -> HttpResponse:
    """The kept page with this visitor's token and nonce; gzipped when the client takes it."""
    gzip = gzipjoin.accepts_gzip(request.headers.get("Accept-Encoding", ""))
    response = HttpResponse(page.render(csrf=csrf, nonce=nonce, gzip=gzip))
    if gzip:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def _cached_page(request: HttpRequest, key: tuple | None) -> HttpResponse | None:
    page = pagecache.get(key) if key else None
    if page is None:
        return None
    csrf, nonce = pagecache.request_values(request)
    return _serve_page(request, page, csrf, nonce)


def _reader(
    request: HttpRequest, version: Version, *, is_home: bool, key: tuple | None = None
) -> HttpResponse:
    """The page around the body is rendered per request (CSRF token, CSP nonce, who is signed
    in) with a slot where the body goes; the body joins it as bytes. For anonymous visitors the
    whole page is then kept (see revisions.pagecache)."""
    context = {
        "version": version, "spec": version.spec, "is_home": is_home,
        "body": mark_safe(_BODY_SLOT),  # noqa: S308 - a fixed placeholder, replaced below
    }  # fmt: skip
    csrf = nonce = ""
    if key is not None:
        csrf, nonce = pagecache.request_values(request)
        context |= {"csrf_token": csrf, "csp_nonce": nonce}
    context["page_end"] = hooks.page_end(request=request)
    page = render_to_string("revisions/reader.html", context, request=request)
    head, tail = page.encode("utf-8").split(_BODY_SLOT.encode("utf-8"), 1)
    body = _reader_body(request, version)
    if key is None:
        return HttpResponse(b"".join((head, body, tail)))
    kept = pagecache.build(head=head, body=body, tail=tail, csrf=csrf, nonce=nonce)
    pagecache.put(key, kept)
    return _serve_page(request, kept, csrf, nonce)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    key = _page_key(request, ("home", settings.MODELSPEC_DEFAULT_SPEC))
    cached = _cached_page(request, key)
    if cached is not None:
        return cached
    version = selectors.version_current(
        viewer=request.user, spec_slug=settings.MODELSPEC_DEFAULT_SPEC
    )
    if version is None:
        return render(request, "revisions/empty.html", status=200)
    return _reader(request, version, is_home=True, key=key)


@require_GET
def spec_detail(request: HttpRequest, spec: str) -> HttpResponse:
    spec_obj = selectors.spec_get(slug=spec)
    versions = selectors.version_list(viewer=request.user, spec=spec_obj)
    return render(request, "revisions/spec.html", {"spec": spec_obj, "versions": versions})


@require_GET
def version_detail(request: HttpRequest, spec: str, label: str) -> HttpResponse:
    key = _page_key(request, ("version", spec, label))
    cached = _cached_page(request, key)
    if cached is not None:
        return cached
    version = selectors.version_get(viewer=request.user, spec_slug=spec, label=label)
    return _reader(request, version, is_home=False, key=key)


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
