"""GET-only endpoints for reading specs, versions and clauses (DESIGN §5).

Each view makes one selector call per thing it shows, and every read of versions goes through
`versions_visible_to`: a draft the viewer may not see answers 404 exactly like a missing one.
The query count of each endpoint is fixed, whatever the size of the spec."""

from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from revisions import hooks, selectors
from revisions.compare import comparison_json, comparison_stored

from . import schema
from . import selectors as api_selectors
from .history import ClauseHistorySerializer, clause_lineage_history
from .serializers import (
    ClauseTextSerializer,
    SpecSerializer,
    VersionDetailSerializer,
    VersionSerializer,
)
from .tree import build_tree


@extend_schema(**schema.SPEC_LIST)
@api_view(["GET", "HEAD"])
def spec_list(request: Request) -> Response:
    """Every specification, its current version and its authority vocabulary."""
    specs = api_selectors.spec_list(viewer=request.user)
    return Response(SpecSerializer(specs, many=True, context={"request": request}).data)


@extend_schema(**schema.VERSION_LIST)
@api_view(["GET", "HEAD"])
def version_list(request: Request, spec: str) -> Response:
    """The versions of a specification the viewer may see, newest first."""
    spec_obj = selectors.spec_get(slug=spec)
    versions = selectors.version_list(viewer=request.user, spec=spec_obj)
    return Response(VersionSerializer(versions, many=True, context={"request": request}).data)


@extend_schema(**schema.VERSION_DETAIL)
@api_view(["GET", "HEAD"])
def version_detail(request: Request, spec: str, label: str) -> Response:
    """A version and the tree of its clauses."""
    version = selectors.version_get(viewer=request.user, spec_slug=spec, label=label)
    version.clause_tree = build_tree(api_selectors.clause_outline(version=version))
    context = {"request": request, "spec": spec, "label": label}
    return Response(VersionDetailSerializer(version, context=context).data)


@extend_schema(**schema.CLAUSE_DETAIL)
@api_view(["GET", "HEAD"])
def clause_detail(request: Request, spec: str, label: str, clause_id: str) -> Response:
    """One clause as it stands in a version, with its examples and other versions."""
    version = selectors.version_get(viewer=request.user, spec_slug=spec, label=label)
    text = selectors.clause_text_get(version=version, anchor=clause_id)
    text.version = version
    text.appearances = selectors.clause_versions(viewer=request.user, clause_text=text)
    context = {"request": request, "spec": spec, "content_hash": text.content_hash}
    return Response(ClauseTextSerializer(text, context=context).data)


@extend_schema(**schema.CLAUSE_HISTORY)
@api_view(["GET", "HEAD"])
def clause_history(request: Request, spec: str, clause_id: str) -> Response:
    """A clause in every version the viewer may see, oldest first, with what changed, links to
    the word-level diffs and the feedback behind each change."""
    entries = clause_lineage_history(viewer=request.user, spec_slug=spec, anchor=clause_id)
    feedback = hooks.history_data(viewer=request.user, spec=spec, entries=entries)
    context = {"request": request, "spec": spec, "feedback": feedback}
    return Response(ClauseHistorySerializer(entries, many=True, context=context).data)


def _compared_version(request: Request, spec: str, label: str):
    try:
        return selectors.version_get(viewer=request.user, spec_slug=spec, label=label)
    except Http404:
        selectors.spec_get(slug=spec)  # an unknown spec is a plain not_found
        raise NotFound(f"No version {label} of this spec.", code="unknown_version") from None


@extend_schema(**schema.COMPARE)
@api_view(["GET", "HEAD"])
def compare(request: Request, spec: str, from_label: str, to_label: str) -> HttpResponse:
    """Two versions compared clause by clause. A comparison of published text is stored once
    computed; its JSON text is sent as it was stored, without decoding or re-encoding."""
    body = comparison_stored(spec_slug=spec, from_label=from_label, to_label=to_label)
    if body is None:
        older = _compared_version(request, spec, from_label)
        newer = _compared_version(request, spec, to_label)
        body = comparison_json(older, newer)
    return HttpResponse(body, content_type="application/json")
