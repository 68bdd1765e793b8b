"""Request and response examples for the feedback API's OpenAPI schema."""

_HOST = "https://modelspec.example.org"
_TN = "MS-2025-00042"

SUBMISSION = {
    "spec": "model-spec",
    "version": "2025-09-12",
    "clause": "follow_all_applicable_instructions",
    "quote": {
        "exact": "a later instruction at the same authority",
        "prefix": "higher-authority instruction or ",
        "suffix": ".",
    },
    "kind": "unclear",
    "severity": "medium",
    "summary": "What makes an instruction 'later' when messages arrive together?",
    "body": "Tool results and user messages can arrive in the same turn. Which one is later?",
    "suggested_text": "",
    "example_conversation": [
        {"role": "developer", "content": "Answer in French.", "label": None},
        {"role": "user", "content": "Answer in English please.", "label": None},
        {"role": "assistant", "content": "Bien sûr…", "label": "BAD"},
    ],
    "affiliation": "",
    "conflict_of_interest": "",
    "submitter_name": "Ada",
    "submitter_email": "ada@example.org",
}

MINIMAL_SUBMISSION = {
    "spec": "model-spec",
    "version": "2025-09-12",
    "clause": "letter_and_spirit",
    "kind": "editorial",
    "summary": "Typo in the second paragraph.",
}

CREATED = {
    "tracking_number": _TN,
    "url": f"{_HOST}/api/v1/feedback/{_TN}/",
    "html_url": f"{_HOST}/feedback/{_TN}/",
    "follow_token": "q9Jw1m2C8f0mH4bq3xk0a1Zr6uY1r2s3t4u5v6w7x8y",
    "state": "received",
    "created_at": "2025-09-20T10:15:00.123456Z",
}

ITEM = {
    "tracking_number": _TN,
    "url": f"{_HOST}/api/v1/feedback/{_TN}/",
    "html_url": f"{_HOST}/feedback/{_TN}/",
    "spec": "model-spec",
    "version": "2025-09-12",
    "clause": "follow_all_applicable_instructions",
    "authority": "root",
    "example": None,
    "quote": {
        "exact": "a later instruction at the same authority",
        "prefix": "higher-authority instruction or ",
        "suffix": ".\nHere is the ordering of author",
        "start": 219,
        "end": 260,
    },
    "kind": "unclear",
    "severity": "medium",
    "state": "triaged",
    "summary": "What makes an instruction 'later' when messages arrive together?",
    "body": "Tool results and user messages can arrive in the same turn. Which one is later?",
    "suggested_text": "",
    "example_conversation": [],
    "affiliation": "",
    "conflict_of_interest": "",
    "submitter_name": "Ada",
    "hidden": False,
    "hidden_reason": None,
    "endorsement_count": 3,
    "created_at": "2025-09-20T10:15:00.123456Z",
}

HIDDEN_ITEM = ITEM | {
    "tracking_number": "MS-2025-00043",
    "url": f"{_HOST}/api/v1/feedback/MS-2025-00043/",
    "html_url": f"{_HOST}/feedback/MS-2025-00043/",
    "quote": None,
    "summary": None,
    "body": None,
    "suggested_text": None,
    "example_conversation": None,
    "affiliation": None,
    "conflict_of_interest": None,
    "submitter_name": None,
    "state": "received",
    "hidden": True,
    "hidden_reason": "Personal data about a third party.",
    "endorsement_count": 0,
}

PAGE = {
    "next": f"{_HOST}/api/v1/feedback/?cursor=eyJvIjoibmV3ZXN0Ii4uLn0",
    "previous": None,
    "results": [ITEM, HIDDEN_ITEM],
}

ENDORSED = {"tracking_number": _TN, "endorsement_count": 4}


def error(code: str, detail: str, errors: dict | None = None) -> dict:
    body: dict = {"code": code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return body


INVALID = error(
    "invalid",
    "Invalid input.",
    {
        "summary": ["Ensure this field has no more than 200 characters."],
        "body": ["NUL characters are not allowed."],
    },
)
UNKNOWN_FIELD = error(
    "unknown_field",
    "Unknown field. Only the fields in the API schema are accepted.",
    {"state": ["Unknown field."]},
)
QUOTE_MISMATCH = error(
    "quote_mismatch",
    "The quoted passage is not in this clause's text. Select it again.",
    {"quote": ["The quoted passage is not in this clause's text. Select it again."]},
)
UNKNOWN_TARGET = error(
    "unknown_target",
    "There is no such clause in this version.",
    {"clause": ["There is no such clause in this version."]},
)
PARSE_ERROR = error(
    "parse_error", "The body is not valid JSON: the key 'summary' appears twice in one object"
)
PERIOD_CLOSED = error(
    "comment_period_closed",
    "This version is not open for public comments.",
    {"version": ["This version is not open for public comments."]},
)
INTERNAL_REFUSED = error(
    "permission_denied",
    "Only staff can file internal feedback.",
    {"visibility": ["Only staff can file internal feedback."]},
)
TOO_LARGE = error("request_too_large", "The request body is larger than 512 KB.")
UNSUPPORTED = error(
    "unsupported_media_type", "Send the request body as JSON with Content-Type: application/json."
)
KEY_REUSED = error(
    "idempotency_key_reused",
    "This Idempotency-Key was already used for a different request. "
    "Use a new key for a new request.",
)
THROTTLED = error("throttled", "Request was throttled. Expected available in 42 seconds.")
NOT_FOUND = error("not_found", "Not found.")
UNKNOWN_PARAMETER = error(
    "unknown_parameter",
    "Unknown query parameter. The filters are listed in the API schema.",
    {"submitter_email": ["Unknown parameter."]},
)
INVALID_CURSOR = error(
    "invalid_cursor",
    "The cursor is not valid; start again from the first page.",
    {"cursor": ["Invalid cursor."]},
)
ALREADY_ENDORSED = error("already_endorsed", "You have already endorsed this item.")
