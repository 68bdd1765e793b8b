"""The lean path for the commonest write: an anonymous public submission, answered before Django
REST framework builds its request.

`POST /api/v1/feedback/` through DRF costs about 1 ms of CPU before the one database call
(`feedback.fast_submit`): wrapping the request, authentication, content negotiation, the
serializer's field objects, the Response and its rendering. For the plainest request — no
credentials, no Origin, JSON in UTF-8, an Accept header that JSON satisfies, and a body whose
every field is an ordinary string, choice or passage — this module checks the same things in
plain Python and answers with the same status, headers and bytes as the DRF view.

Anything else returns None and the DRF view answers, exactly as before: every refusal (bad
JSON, an unknown field, a closed comment period, a reused key, the rate limit) is explained by
the full path, never here. `submission_fields` takes a payload only when the serializer would
accept it and produce the same values; a property test (tests/feedback/api/test_lean.py) holds
the two together, and another compares whole responses of both paths.

A write counts against the rate limit once, whichever path answers it: a request this path
counted carries `feedback_write_counted`, which the DRF view reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer

from feedback import fast_submit, idempotency, throttling
from feedback.models import Kind, Severity, Visibility
from feedback.services import LIMITS, Quote, Submission

from .parsing import _BAD_CHARACTER, json_object_parse, max_body_bytes
from .serializers import MAX_POSITION, QUOTE_CONTEXT_LIMIT, item_api_path, item_html_path

COUNTED = "feedback_write_counted"  # set on the Django request once the write was counted

# (max length, required) of the plain string fields; blank is allowed exactly when optional.
# All are stripped of surrounding whitespace, as the serializer does.
_STRINGS: dict[str, tuple[int, bool]] = {
    "spec": (64, True),
    "version": (64, True),
    "clause": (128, True),
    "summary": (LIMITS["summary"], True),
    "body": (LIMITS["body"], False),
    "suggested_text": (LIMITS["suggested_text"], False),
    "affiliation": (LIMITS["affiliation"], False),
    "conflict_of_interest": (LIMITS["conflict_of_interest"], False),
    "submitter_name": (LIMITS["submitter_name"], False),
}
_KINDS = frozenset(Kind.values)
_SEVERITIES = frozenset(Severity.values)
_FIELDS = frozenset(
    {
        *_STRINGS,
        "kind",
        "severity",
        "visibility",
        "example",
        "quote",
        "example_conversation",
        "submitter_email",
    }
)
_QUOTE_FIELDS = frozenset({"exact", "prefix", "suffix", "start", "end"})
# Accept values that DRF's negotiation answers with its only renderer, JSON.
_ACCEPTED = frozenset({None, "*/*", "application/json", "application/*"})
_UTF8 = frozenset({"utf-8", "utf8"})
# What the DRF view adds to every response (APIView.default_response_headers).
ALLOW = "GET, POST, HEAD, OPTIONS"
_RENDERER = JSONRenderer()


def _plain_text(value: Any) -> str | None:
    """`value` if it is a string the serializer keeps as it is (before stripping): no carriage
    return to normalise, no character it refuses. None means "let the serializer decide"."""
    if type(value) is not str or "\r" in value or _BAD_CHARACTER.search(value):
        return None
    return value


def _string(payload: dict[str, Any], name: str) -> str | None:
    limit, required = _STRINGS[name]
    if name not in payload:
        return None if required else ""
    value = _plain_text(payload[name])
    if value is None:
        return None
    value = value.strip()
    if (required and not value) or len(value) > limit:
        return None
    return value


def _position(value: Any) -> int | bool | None:
    """An offset as the serializer takes it; False when it would refuse or change it."""
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_POSITION:
        return False
    return value


def _quote(value: Any) -> dict[str, Any] | bool | None:
    """The passage as the serializer returns it; False when it would refuse it."""
    if value is None:
        return None
    if type(value) is not dict or not value.keys() <= _QUOTE_FIELDS:
        return False
    exact = _plain_text(value.get("exact"))
    prefix = _plain_text(value.get("prefix", ""))
    suffix = _plain_text(value.get("suffix", ""))
    if exact is None or prefix is None or suffix is None:
        return False
    if not exact or len(exact) > LIMITS["quote_exact"]:
        return False
    if len(prefix) > QUOTE_CONTEXT_LIMIT or len(suffix) > QUOTE_CONTEXT_LIMIT:
        return False
    start, end = _position(value.get("start")), _position(value.get("end"))
    if start is False or end is False:
        return False
    if start is not None and end is not None and end <= start:
        return False
    return {"exact": exact, "prefix": prefix, "suffix": suffix, "start": start, "end": end}


def submission_fields(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The serializer's validated data for `payload` when this path may take it, else None.

    Taken: every field an ordinary value (strings without carriage returns or refused
    characters, within their limits; known choices; a passage or none), no worked example, no
    conversation, no e-mail, public visibility. Whatever this returns equals what
    `FeedbackSubmitSerializer` returns for the same payload (tested property)."""
    if not payload.keys() <= _FIELDS:
        return None
    fields: dict[str, Any] = {}
    for name in _STRINGS:
        value = _string(payload, name)
        if value is None:
            return None
        fields[name] = value
    kind = payload.get("kind")
    severity = payload.get("severity", Severity.MEDIUM.value)
    if type(kind) is not str or kind not in _KINDS:
        return None
    if type(severity) is not str or severity not in _SEVERITIES:
        return None
    if payload.get("visibility", Visibility.PUBLIC.value) != Visibility.PUBLIC.value:
        return None
    if payload.get("example") is not None or payload.get("example_conversation", []) != []:
        return None
    email = payload.get("submitter_email", "")
    if type(email) is not str or email.strip() or _plain_text(email) is None:
        return None
    quote = _quote(payload.get("quote"))
    if quote is False:
        return None
    return fields | {
        "kind": kind,
        "severity": severity,
        "visibility": Visibility.PUBLIC.value,
        "example": None,
        "example_conversation": [],
        "submitter_email": "",
        "quote": quote,
    }


def submission_from(data: dict[str, Any], version) -> Submission:
    """A service Submission from validated data (the serializer's or `submission_fields`)."""
    quote = data["quote"]
    return Submission(
        version=version,
        clause_id=data["clause"],
        kind=data["kind"],
        summary=data["summary"],
        body=data["body"],
        example_slug=data["example"],
        quote=Quote(**quote) if quote else None,
        suggested_text=data["suggested_text"],
        example_conversation=[dict(turn) for turn in data["example_conversation"]],
        severity=data["severity"],
        affiliation=data["affiliation"],
        conflict_of_interest=data["conflict_of_interest"],
        visibility=data["visibility"],
        submitter_name=data["submitter_name"],
        submitter_email=data["submitter_email"],
    )


_SAMPLE_NUMBER = "XX-0000-00000"
_URL_SPLITS: dict[tuple[str, str, str], tuple[str, str]] = {}


def split_url(
    request: HttpRequest, path_of: Callable[[str], str], host: str | None = None
) -> tuple[str, str]:
    """An item's absolute URL split around its tracking number (remembered per host; pass the
    request's `get_host()` when it is at hand)."""
    key = (request.scheme, host or request.get_host(), path_of.__name__)
    split = _URL_SPLITS.get(key)
    if split is None:
        prefix, _, suffix = request.build_absolute_uri(path_of(_SAMPLE_NUMBER)).partition(
            _SAMPLE_NUMBER
        )
        split = (prefix, suffix)
        if len(_URL_SPLITS) < 64:  # hosts are limited by ALLOWED_HOSTS
            _URL_SPLITS[key] = split
    return split


def scope_of(request: HttpRequest) -> str:
    """Whose idempotency keys these are (the API's scopes)."""
    user = request.user
    if user.is_authenticated:
        return f"user:{user.pk}"
    return f"client:{throttling.client_key(request)}"


def receipt(body: dict[str, Any], *, status: int, replayed: bool = False) -> HttpResponse:
    """The response the DRF view gives for a receipt: JSON rendered by DRF's renderer, no
    caching (it holds the follow token), Location, Allow."""
    response = HttpResponse(
        _RENDERER.render(body), status=status, content_type=_RENDERER.media_type
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    response["Cache-Control"] = "no-store"
    if body.get("url"):
        response["Location"] = body["url"]
    response["Allow"] = ALLOW
    return response


def respond(request: HttpRequest) -> HttpResponse | None:
    """Answer an anonymous submission, or None for the DRF view to answer."""
    meta = request.META
    if "HTTP_AUTHORIZATION" in meta or "HTTP_ORIGIN" in meta:
        return None
    if meta.get("HTTP_ACCEPT") not in _ACCEPTED:
        return None
    if request.content_type != "application/json":
        return None
    if request.content_params.get("charset", "utf-8").lower() not in _UTF8:
        return None
    length = meta.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > max_body_bytes():
        return None
    if request.user.is_authenticated:
        return None
    try:
        key = idempotency.key_validate(meta.get("HTTP_IDEMPOTENCY_KEY"))
    except idempotency.InvalidKey:
        return None
    try:
        throttling.throttle_write(request)
    except throttling.RateLimited:
        return None  # the DRF view answers a replay first, then the 429
    setattr(request, COUNTED, True)
    raw = request.body
    try:
        fields = submission_fields(json_object_parse(raw))
    except exceptions.APIException:
        return None
    if fields is None:
        return None
    try:
        filed = file_validated(
            request,
            fields,
            key=key,
            fingerprint=idempotency.fingerprint(
                method=request.method,
                path=request.path,
                content_type=request.content_type,
                body=raw,
            ),
        )
    except idempotency.KeyReused:
        return None  # the DRF view explains it (422)
    if filed is None:
        return None
    return receipt(filed.body, status=filed.status, replayed=filed.replayed)


class Filed(NamedTuple):
    """What the one-call path answered: a new item's receipt, or a replayed one."""

    status: int
    body: dict[str, Any]
    replayed: bool


def file_validated(
    request: HttpRequest, data: dict[str, Any], *, key: str | None, fingerprint: str
) -> Filed | None:
    """File validated submission `data` (the serializer's or `submission_fields`') through the
    one-call path (`feedback.fast_submit`) when it may take it; None when the full path must
    answer. Raises idempotency.KeyReused. Both the lean path and the DRF view use it."""
    version = fast_submit.published_version(spec=data["spec"], label=data["version"])
    if version is None:
        return None
    submission = submission_from(data, version)
    if not fast_submit.eligible(submission, user=request.user):
        return None
    host = request.get_host()
    api_path = split_url(request, item_api_path, host)
    html_path = split_url(request, item_html_path, host)
    outcome = fast_submit.submit(
        submission=submission,
        scope=scope_of(request),
        key=key,
        request_fingerprint=fingerprint,
        api_path=api_path,
        html_path=html_path,
    )
    if outcome is None:
        return None
    if isinstance(outcome, fast_submit.Replayed):
        return Filed(outcome.status, outcome.body, replayed=True)
    return Filed(201, outcome.body(api_path, html_path), replayed=False)


def with_lean_post(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """`view` (the DRF view function) with POSTs offered to `respond` first. The wrapper keeps
    the view's attributes (its class and init arguments, and DRF's own exemption from the CSRF
    middleware: DRF checks CSRF for signed-in sessions, which `respond` never takes), so the
    schema generator and the middleware see the DRF view."""

    def feedback_collection(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            response = respond(request)
            if response is not None:
                return response
        return view(request, *args, **kwargs)

    feedback_collection.__dict__.update(view.__dict__)
    feedback_collection.__doc__ = view.__doc__
    return feedback_collection
