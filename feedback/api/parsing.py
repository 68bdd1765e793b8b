"""Reading request bodies strictly: JSON objects only, UTF-8 only, no duplicate keys, no NaN,
bounded size and depth; and the text rule every string field obeys.

Every refusal here is a 4xx with a stable code; nothing reaches the database or the error
renderer that could make it fail (PostgreSQL refuses NUL, the JSON renderer refuses lone
surrogates)."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from django.conf import settings
from rest_framework.parsers import BaseParser

from .errors import ApiError, RequestTooLarge

# The largest body accepted. A submission with every field at its limit, all in ASCII, is about
# 450 KB (40 conversation turns of 10,000 characters), so the cap leaves room for that and
# refuses anything bigger before it is read.
DEFAULT_MAX_BODY_BYTES = 512 * 1024
# A submission nests three levels (object > conversation list > turn object).
MAX_DEPTH = 8

_BAD_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def max_body_bytes() -> int:
    return int(getattr(settings, "FEEDBACK_API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None. Line feeds and tabs are fine, and so are
    format characters such as the right-to-left override (they are stored and returned as
    sent); NUL, other control characters and lone surrogates are not."""
    match = _BAD_CHARACTER.search(value)
    if match is None:
        return None
    char = match.group()
    if char == "\x00":
        return "NUL characters are not allowed."
    if "\ud800" <= char <= "\udfff":
        return "Lone surrogate characters are not allowed (the text is not valid Unicode)."
    name = unicodedata.name(char, f"U+{ord(char):04X}")
    return f"Control characters are not allowed (found {name or f'U+{ord(char):04X}'})."


def shown(text: str, limit: int = 64) -> str:
    """`text` made safe to echo in an error message: escaped when it holds characters the
    renderer or a terminal should not see, and cut to `limit` characters."""
    if text_problem(text) is not None:
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def content_length_check(request) -> None:
    """413 before reading a body that says it is too big."""
    raw = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw)
    except ValueError:
        raise ApiError(
            "The Content-Length header is not a number.", code="bad_request", status=400
        ) from None
    if length > max_body_bytes():
        raise RequestTooLarge(max_body_bytes())


def json_content_type_check(request) -> None:
    """415 unless the body is declared as JSON in UTF-8 (a missing charset means UTF-8)."""
    django_request = getattr(request, "_request", request)  # DRF's content_type is the header
    content_type = django_request.content_type or ""
    charset = (django_request.content_params or {}).get("charset", "utf-8")
    if content_type.lower() != "application/json" or charset.lower() not in {"utf-8", "utf8"}:
        raise ApiError(
            "Send the request body as JSON with Content-Type: application/json.",
            code="unsupported_media_type",
            status=415,
        )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {shown(key)!r} appears twice in one object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (the value may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


def json_object_parse(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying what is wrong with it."""
    if len(raw) > max_body_bytes():
        raise RequestTooLarge(max_body_bytes())
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            f"The body is not valid UTF-8 (byte {exc.start}).", code="parse_error", status=400
        ) from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except RecursionError:
        raise ApiError(
            f"The JSON is nested too deeply (at most {MAX_DEPTH} levels).",
            code="parse_error",
            status=400,
        ) from None
    except ValueError as exc:  # JSONDecodeError is a ValueError, and so are the hooks' errors
        raise ApiError(
            f"The body is not valid JSON: {exc}", code="parse_error", status=400
        ) from None
    if not isinstance(data, dict):
        raise ApiError("The body must be a JSON object ({...}).", code="not_an_object", status=400)
    if _depth(data) > MAX_DEPTH:
        raise ApiError(
            f"The JSON is nested too deeply (at most {MAX_DEPTH} levels).",
            code="parse_error",
            status=400,
        )
    return data


class StrictJSONParser(BaseParser):
    """application/json through `json_object_parse` (also what the schema advertises)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> dict[str, Any]:
        limit = max_body_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        return json_object_parse(raw)
