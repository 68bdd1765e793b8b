"""OpenAPI descriptions for the reading endpoints: parameters, error responses, examples."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
)
from rest_framework import serializers

from . import schema_examples as samples
from .history import ClauseHistorySerializer
from .serializers import (
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
        "identity, so renames show up as `renamed`, and through the stored lineage to the "
        "clause it was split off or merged from. Each entry links to the word-level "
        "comparison with the previous entry's version and lists the feedback behind the "
        f"change (items incorporated through change proposals) that you may see. {VISIBILITY}"
    ),
    "parameters": [SPEC, CLAUSE_ID],
    "responses": {
        200: _ok(
            ClauseHistorySerializer(many=True),
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


FROM_LABEL = OpenApiParameter(
    "from_label",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The older version's label, e.g. `2025-04-11`.",
)
TO_LABEL = OpenApiParameter(
    "to_label",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The newer version's label, e.g. `2025-09-12`.",
)


class ComparedVersionSerializer(serializers.Serializer):
    label = serializers.CharField()
    state = serializers.CharField()


class ComparedSideSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    heading = serializers.CharField()
    level = serializers.IntegerField()
    parent = serializers.CharField(allow_null=True)
    authority = serializers.CharField()
    authority_rank = serializers.IntegerField(allow_null=True)


class ExampleTitleSerializer(serializers.Serializer):
    title = serializers.CharField()


class RelabelSerializer(serializers.Serializer):
    answer = serializers.IntegerField(help_text="Position of the answer in the example, from 1.")
    # `from` is a Python keyword, so the two labels are declared through the class namespace.
    locals()["from"] = serializers.CharField(allow_null=True, help_text="The old label.")
    to = serializers.CharField(allow_null=True, help_text="The new label.")


class RelabelledExampleSerializer(serializers.Serializer):
    title = serializers.CharField()
    labels = RelabelSerializer(many=True)


class ComparedExamplesSerializer(serializers.Serializer):
    added = ExampleTitleSerializer(many=True)
    removed = ExampleTitleSerializer(many=True)
    relabelled = RelabelledExampleSerializer(many=True)
    changed = ExampleTitleSerializer(many=True)


class WordCountsSerializer(serializers.Serializer):
    removed = serializers.IntegerField()
    added = serializers.IntegerField()


def _ops():
    return serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        allow_null=True,
        help_text=(
            "Word-level operations `[op, text]`, op one of `equal`, `delete`, `insert`; the "
            "`equal`+`delete` texts join to the old text, `equal`+`insert` to the new. Null "
            "when that part did not change."
        ),
    )


class ComparedClauseSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="Lineage kind: `unchanged`, `edited`, `renamed`, `moved`, `split`, `merged`, "
        "`added` or `removed`."
    )
    old = ComparedSideSerializer(allow_null=True, help_text="Null for an added clause.")
    new = ComparedSideSerializer(allow_null=True, help_text="Null for a removed clause.")
    similarity = serializers.IntegerField(help_text="Text similarity, 0-100.")
    text_changed = serializers.BooleanField()
    moved = serializers.BooleanField()
    authority_changed = serializers.BooleanField(
        help_text="The authority rank changed (a renamed word of the same rank does not count)."
    )
    by_editor = serializers.BooleanField(help_text="An editor set this link by hand.")
    heading_diff = _ops()
    body_diff = _ops()
    markup_only = serializers.BooleanField(
        help_text="Only the Markdown changed (links, emphasis), not the words."
    )
    words = WordCountsSerializer()
    examples = ComparedExamplesSerializer()


class ComparisonSerializer(serializers.Serializer):
    spec = serializers.CharField()
    locals()["from"] = ComparedVersionSerializer()
    to = ComparedVersionSerializer()
    algorithm = serializers.IntegerField(help_text="Revision of the comparison algorithm.")
    lineage = serializers.CharField(
        help_text="`stored`: the newer version's recorded lineage (with editors' corrections); "
        "`computed`: matched for this comparison (versions not adjacent, or a draft)."
    )
    summary = serializers.DictField(
        child=serializers.IntegerField(), help_text="Number of clauses of each lineage kind."
    )
    authority_changes = serializers.IntegerField()
    examples = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Examples added, removed, relabelled (a GOOD/OK/BAD label changed on an "
        "answer present in both) and otherwise changed, matched by title.",
    )
    clauses = ComparedClauseSerializer(many=True)


COMPARISON = ComparisonSerializer


COMPARE = {
    "operation_id": "specs_compare_retrieve",
    "tags": TAGS,
    "summary": "Compare two versions",
    "description": (
        "Every clause of the two versions with its lineage kind (unchanged, edited, renamed, "
        "moved, split, merged, added, removed), word-level changes of its heading and body "
        "(plain text), authority changes and example changes, in the newer version's reading "
        "order, and counts per kind. Any two versions of a spec may be compared, either way "
        "round. A comparison of published or superseded versions is computed once and served "
        f"from storage afterwards; drafts are compared afresh every time. {VISIBILITY}"
    ),
    "parameters": [SPEC, FROM_LABEL, TO_LABEL],
    "responses": {
        200: OpenApiResponse(
            COMPARISON,
            description="The comparison.",
            examples=[
                OpenApiExample(
                    "2025-04-11 to 2025-09-12 (one clause shown)",
                    value=samples.COMPARISON,
                    response_only=True,
                    status_codes=["200"],
                )
            ],
        ),
        404: OpenApiResponse(
            ErrorSerializer,
            description=(
                "`unknown_version`: no such version of the spec (or not visible to you); "
                "`not_found`: no such spec."
            ),
            examples=[
                OpenApiExample(
                    "Unknown version",
                    value={
                        "code": "unknown_version",
                        "detail": "No version 1999-01-01 of this spec.",
                    },
                    response_only=True,
                    status_codes=["404"],
                ),
                OpenApiExample(
                    "Unknown spec",
                    value={"code": "not_found", "detail": "Not found."},
                    response_only=True,
                    status_codes=["404"],
                ),
            ],
        ),
    },
}
