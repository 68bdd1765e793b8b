"""OpenAPI descriptions for the feedback endpoints: parameters, error responses, examples."""

from __future__ import annotations

from drf_spectacular.settings import spectacular_settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from feedback.models import Kind, Visibility

from . import schema_examples as samples
from .serializers import (
    FeedbackCreatedSerializer,
    FeedbackEndorsementSerializer,
    FeedbackErrorSerializer,
    FeedbackItemSerializer,
    FeedbackPageSerializer,
    FeedbackSubmitSerializer,
)

TAGS = ["feedback"]

TRACKING_NUMBER = OpenApiParameter(
    "tracking_number",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The item's tracking number, e.g. `MS-2025-00042`.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, 1 to 200 printable ASCII characters (a fresh UUID per submission). A retry "
        "with the same key and the same body gets the first response again, with "
        "`Idempotent-Replayed: true`, and files nothing new; the same key with another body is "
        "refused with 422. Keys are remembered for 24 hours, per account (or, without one, per "
        "client address)."
    ),
)
REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[201],
    description="`true` when this is the stored response to an earlier request with the key.",
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before writing again.",
)

THROTTLING = (
    "Writes are rate-limited: without an account per client address (by default 10 a minute "
    "and 100 a day), with one per account (30 a minute). Over the limit the answer is 429 "
    "with `Retry-After`."
)
VISIBILITY = (
    "Everyone sees public items; staff also see internal ones. An item you may not see is "
    "answered exactly like one that does not exist. A hidden (moderated) item keeps its place "
    "and its tracking number, but its text is null and `hidden_reason` says why."
)


def _error(description: str, *examples: tuple[str, dict, str]) -> OpenApiResponse:
    return OpenApiResponse(
        FeedbackErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(name, value=value, response_only=True, status_codes=[code])
            for name, value, code in examples
        ],
    )


class FeedbackInvalidSerializer(FeedbackErrorSerializer):
    """A 400 from the submission: nested fields (`quote`, `example_conversation`) report their
    own fields' messages nested the same way."""

    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text=(
            "Per-field messages: a list of strings by field; for `quote` an object of such "
            "lists, for `example_conversation` a list with one such object per turn."
        ),
    )


def _invalid(description: str, *examples: tuple[str, dict, str]) -> OpenApiResponse:
    return OpenApiResponse(
        FeedbackInvalidSerializer,
        description=description,
        examples=[
            OpenApiExample(name, value=value, response_only=True, status_codes=[code])
            for name, value, code in examples
        ],
    )


NOT_FOUND = _error("No such item, or not visible to you.", ("Not found", samples.NOT_FOUND, "404"))
THROTTLED = _error("Too many writes; see `Retry-After`.", ("Throttled", samples.THROTTLED, "429"))

FEEDBACK_CREATE = {
    "operation_id": "feedback_create",
    "tags": TAGS,
    "summary": "File feedback",
    "description": (
        "File feedback on a clause of a version, optionally on one of its worked examples or on "
        "a passage of its text. Anyone may file while the version's comment period is open; "
        "staff may file `internal` items at any time. Only the fields listed are accepted: "
        "any other field (such as `state` or `tracking_number`) is refused with "
        "`unknown_field`. Text must not contain NUL, other control characters (except line "
        "feed and tab) or lone surrogates; duplicate keys in one JSON object are refused. "
        "The body may be at most 512 KB.\n\n"
        "The response carries the tracking number and `follow_token`, the private key to "
        "follow the item without an account. It is shown only here.\n\n" + THROTTLING
    ),
    "parameters": [IDEMPOTENCY_KEY, REPLAYED, RETRY_AFTER],
    "request": FeedbackSubmitSerializer,
    "examples": [
        OpenApiExample("On a passage", value=samples.SUBMISSION, request_only=True),
        OpenApiExample("Minimal", value=samples.MINIMAL_SUBMISSION, request_only=True),
        OpenApiExample("Receipt", value=samples.CREATED, response_only=True, status_codes=["201"]),
    ],
    "responses": {
        201: OpenApiResponse(FeedbackCreatedSerializer, description="Filed (or replayed)."),
        400: _invalid(
            "Invalid input, with per-field `errors`.",
            ("Invalid fields", samples.INVALID, "400"),
            ("Unknown field", samples.UNKNOWN_FIELD, "400"),
            ("Quote not in the clause", samples.QUOTE_MISMATCH, "400"),
            ("Unknown clause", samples.UNKNOWN_TARGET, "400"),
            ("Not valid JSON", samples.PARSE_ERROR, "400"),
        ),
        403: _error(
            "The comment period is closed, or only staff may do this.",
            ("Comment period closed", samples.PERIOD_CLOSED, "403"),
            ("Internal without a staff role", samples.INTERNAL_REFUSED, "403"),
        ),
        413: _error("The body is too large.", ("Too large", samples.TOO_LARGE, "413")),
        415: _error("The body is not JSON.", ("Not JSON", samples.UNSUPPORTED, "415")),
        422: _error(
            "The Idempotency-Key was used for a different request.",
            ("Key reused", samples.KEY_REUSED, "422"),
        ),
        429: THROTTLED,
    },
}


def _building_public_schema() -> bool:
    """True while the public schema (/api/schema/) is generated: its view patches in the
    hook that leaves staff-only operations out."""
    hooks = spectacular_settings.PREPROCESSING_HOOKS or []
    return any(
        getattr(hook, "__name__", str(hook)).endswith("public_operations_only") for hook in hooks
    )


class StaffParameter(OpenApiParameter):
    """A parameter only staff may use: documented in the staff schema, left out of the public
    one (where using it is refused like any unknown parameter)."""

    @property
    def exclude(self) -> bool:
        return _building_public_schema()

    @exclude.setter
    def exclude(self, value: bool) -> None:
        pass


class OrderingParameter(OpenApiParameter):
    """`ordering`: the public orderings, and for staff the triage queue's as well."""

    PUBLIC = ["newest", "oldest", "most_endorsed"]
    STAFF = ["waiting", "severity"]

    @property
    def enum(self) -> list[str]:
        return self.PUBLIC if _building_public_schema() else self.PUBLIC + self.STAFF

    @enum.setter
    def enum(self, value) -> None:
        pass

    @property
    def description(self) -> str:
        if _building_public_schema():
            return "Default `newest`."
        return (
            "Default `newest`. Staff also have `waiting` (oldest waiting in its current state "
            "first) and `severity` (most severe first, then oldest waiting)."
        )

    @description.setter
    def description(self, value) -> None:
        pass


_LIST_FILTERS = [
    OpenApiParameter("spec", OpenApiTypes.STR, description="Spec slug, e.g. `model-spec`."),
    OpenApiParameter("version", OpenApiTypes.STR, description="Version label."),
    OpenApiParameter("clause", OpenApiTypes.STR, description="Clause id, in the item's version."),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=Kind.values, description="Kind of feedback."),
    OpenApiParameter(
        "state",
        OpenApiTypes.STR,
        description=(
            "Current state: one (`received`), several separated by commas "
            "(`received,triaged`), `active` (received, triaged, in_review, needs_info) or "
            "`closed`. Default: every state."
        ),
    ),
    OpenApiParameter(
        "authority",
        OpenApiTypes.STR,
        description="The clause's authority word, as written in that version (e.g. `root`).",
    ),
    OpenApiParameter(
        "has_passage",
        OpenApiTypes.BOOL,
        description="`true`: only items on a selected passage; `false`: only items without.",
    ),
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description=(
            "Full-text search (English stemming) in summaries, details and quoted passages; "
            'web-search syntax: words, "a phrase", -excluded, or.'
        ),
    ),
    StaffParameter(
        "assignee",
        OpenApiTypes.STR,
        description="Staff only. A username, `me` (yourself) or `none` (unassigned).",
    ),
    StaffParameter(
        "label",
        OpenApiTypes.STR,
        description="Staff only. A label name, or several separated by commas (items with all).",
    ),
    StaffParameter(
        "visibility",
        OpenApiTypes.STR,
        enum=Visibility.values,
        description="Staff only. Public or internal items.",
    ),
    StaffParameter(
        "endorsements", OpenApiTypes.INT, description="Staff only. At least this many endorsements."
    ),
    StaffParameter(
        "age",
        OpenApiTypes.INT,
        description=(
            "Staff only. Waiting at least this many days in the current state (since the last "
            "state change, or since filing)."
        ),
    ),
    StaffParameter(
        "rank",
        OpenApiTypes.INT,
        description="Staff only. The clause's authority rank (0 = root/platform, 1 = system, …).",
    ),
    StaffParameter(
        "reanchor",
        OpenApiTypes.STR,
        description=(
            "Staff only. What re-anchoring found when a new version carried the item forward: "
            "`anchored`, `moved`, `text_changed`, `orphaned`, or `none` (never carried)."
        ),
    ),
    OrderingParameter("ordering", OpenApiTypes.STR),
    OpenApiParameter(
        "cursor", OpenApiTypes.STR, description="Opaque; follow the `next` and `previous` links."
    ),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="1 to 100; default 25."),
]

FEEDBACK_LIST = {
    "operation_id": "feedback_list",
    "tags": TAGS,
    "summary": "List feedback",
    "description": (
        "Feedback you may see, newest first unless `ordering` says otherwise, a page at a time "
        "(follow `next`). The filters are an allowlist: any other query parameter is refused "
        f"with 400 `unknown_parameter`. {VISIBILITY}"
    ),
    "parameters": _LIST_FILTERS,
    "responses": {
        200: OpenApiResponse(
            FeedbackPageSerializer,
            description="A page of items.",
            examples=[
                OpenApiExample(
                    "A page", value=samples.PAGE, response_only=True, status_codes=["200"]
                )
            ],
        ),
        400: _error(
            "An unknown or invalid parameter.",
            ("Unknown parameter", samples.UNKNOWN_PARAMETER, "400"),
            ("Bad cursor", samples.INVALID_CURSOR, "400"),
        ),
    },
}

FEEDBACK_DETAIL = {
    "operation_id": "feedback_retrieve",
    "tags": TAGS,
    "summary": "One feedback item",
    "description": f"The item, as you may see it. {VISIBILITY}",
    "parameters": [TRACKING_NUMBER],
    "responses": {
        200: OpenApiResponse(
            FeedbackItemSerializer,
            description="The item.",
            examples=[
                OpenApiExample(
                    "Item", value=samples.ITEM, response_only=True, status_codes=["200"]
                ),
                OpenApiExample(
                    "Hidden by a moderator",
                    value=samples.HIDDEN_ITEM,
                    response_only=True,
                    status_codes=["200"],
                ),
            ],
        ),
        404: NOT_FOUND,
    },
}

FEEDBACK_ENDORSE = {
    "operation_id": "feedback_endorse_create",
    "tags": TAGS,
    "summary": 'Endorse feedback ("me too")',
    "description": (
        "Once per account; without an account, once per browser, recognised by the "
        "`msf_browser` cookie (set by this call when missing). No request body. " + THROTTLING
    ),
    "parameters": [TRACKING_NUMBER, RETRY_AFTER],
    "request": None,
    "responses": {
        201: OpenApiResponse(
            FeedbackEndorsementSerializer,
            description="Endorsed; the new count.",
            examples=[
                OpenApiExample(
                    "Endorsed", value=samples.ENDORSED, response_only=True, status_codes=["201"]
                )
            ],
        ),
        404: NOT_FOUND,
        409: _error(
            "Already endorsed by this account or browser.",
            ("Already endorsed", samples.ALREADY_ENDORSED, "409"),
        ),
        429: THROTTLED,
    },
}
