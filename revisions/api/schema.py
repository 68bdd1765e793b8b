"""OpenAPI descriptions for the reading endpoints: parameters, error responses, examples."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from . import schema_examples as samples
from .serializers import (
    ClauseHistoryEntrySerializer,
    ClauseTextSerializer,
    ErrorSerializer,
    SpecSerializer,
    VersionDetailSerializer,
    VersionSerializer,
)

TAGS = ["specs"]

SPEC = OpenApiParameter(
    "spec", OpenApiTypes.STR, OpenApiParameter.PATH, description="Spec slug, e.g. `model-spec`."
)
LABEL = OpenApiParameter(
    "label",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Version label, e.g. `2025-09-12`.",
)
CLAUSE_ID = OpenApiParameter(
    "clause_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="A clause's id (its heading anchor), e.g. `follow_all_applicable_instructions`.",
)

VISIBILITY = (
    "Published and superseded versions are public; drafts are visible only to editors and "
    "reviewers. A version the viewer may not see is answered exactly like a missing one."
)


def _not_found(what: str) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=f"No such {what}, or not visible to you.",
        examples=[
            OpenApiExample(
                "Not found",
                value={"code": "not_found", "detail": "Not found."},
                response_only=True,
                status_codes=["404"],
            )
        ],
    )


def _ok(serializer, description: str, examples: dict[str, object]) -> OpenApiResponse:
    """A 200 response. For a list, each example is one item: drf-spectacular wraps it."""
    return OpenApiResponse(
        serializer,
        description=description,
        examples=[
            OpenApiExample(name, value=value, response_only=True, status_codes=["200"])
            for name, value in examples.items()
        ],
    )


SPEC_LIST = {
    "operation_id": "specs_list",
    "tags": TAGS,
    "summary": "List specifications",
    "description": (
        "Every specification with its current (published) version and its authority "
        "vocabulary: the words a clause's heading may carry, most authority first."
    ),
    "responses": {
        200: _ok(SpecSerializer(many=True), "The specifications.", {"Model Spec": samples.SPEC}),
    },
}

VERSION_LIST = {
    "operation_id": "specs_versions_list",
    "tags": TAGS,
    "summary": "List a specification's versions",
    "description": f"The versions you may see, newest label first. {VISIBILITY}",
    "parameters": [SPEC],
    "responses": {
        200: _ok(
            VersionSerializer(many=True), "The versions.", {"Published version": samples.VERSION}
        ),
        404: _not_found("spec"),
    },
}

VERSION_DETAIL = {
    "operation_id": "specs_versions_retrieve",
    "tags": TAGS,
    "summary": "A version with its clause tree",
    "description": (
        "The version and the outline of its clauses: top-level clauses in reading order, each "
        "with its `children` nested the same way. Bodies are left out; fetch a clause for its "
        f"text and examples. {VISIBILITY}"
    ),
    "parameters": [SPEC, LABEL],
    "responses": {
        200: _ok(VersionDetailSerializer, "The version.", {"Version": samples.VERSION_DETAIL}),
        404: _not_found("spec or version"),
    },
}

CLAUSE_DETAIL = {
    "operation_id": "specs_versions_clauses_retrieve",
    "tags": TAGS,
    "summary": "One clause as it stands in a version",
    "description": (
        "The clause's text (Markdown, sanitised HTML and plain text), its worked examples, and "
        "`versions`: every version you may see that has the same clause, possibly under another "
        f"id, with whether its text is the same. {VISIBILITY}"
    ),
    "parameters": [SPEC, LABEL, CLAUSE_ID],
    "responses": {
        200: _ok(ClauseTextSerializer, "The clause text.", {"Clause": samples.CLAUSE_DETAIL}),
        404: _not_found("spec, version or clause"),
    },
}

CLAUSE_HISTORY = {
    "operation_id": "specs_clauses_history_list",
    "tags": TAGS,
    "summary": "A clause's history across versions",
    "description": (
        "Every version you may see that has the clause `clause_id` names, oldest label first, "
        "with what changed relative to the previous entry. `clause_id` is looked up in the "
        "newest version that has a clause with that id; the clause is then followed by "
        f"identity, so renames show up as `renamed`. {VISIBILITY}"
    ),
    "parameters": [SPEC, CLAUSE_ID],
    "responses": {
        200: _ok(
            ClauseHistoryEntrySerializer(many=True),
            "The clause's entries, oldest first.",
            {
                "First appearance": samples.CLAUSE_HISTORY[0],
                "Unchanged": samples.CLAUSE_HISTORY[1],
                "Edited": samples.CLAUSE_HISTORY[2],
            },
        ),
        404: _not_found("spec or clause"),
    },
}
