"""Errors of the feedback API, all as JSON `{"code", "detail", "errors"?}` with a stable code.

The site-wide handler (`modelspec_site.api.exception_handler`) shapes DRF's exceptions; this
module adds the feedback app's own: refusals from the services (`FeedbackError`, which carry
their HTTP status and code), API-level refusals with a specific code (`ApiError`), and
validation errors that name unknown fields (`code: "unknown_field"`)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response

from feedback.errors import FeedbackError
from modelspec_site.api import exception_handler as site_exception_handler


class ApiError(exceptions.APIException):
    """A refusal with its own status and stable code, and optionally field errors."""

    def __init__(
        self,
        detail: str,
        *,
        code: str,
        status: int,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, code)
        self.status_code = status
        self.code = code
        self.errors = errors
        self.headers = headers or {}


class RequestTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The request body is larger than {limit // 1024} KB.",
            code="request_too_large",
            status=413,
        )


class UnknownParameter(ApiError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(
            "Unknown query parameter. The filters are listed in the API schema.",
            code="unknown_parameter",
            status=400,
            errors={name: ["Unknown parameter."] for name in names},
        )


def _codes(detail: Any) -> set[str]:
    if isinstance(detail, dict):
        return set().union(*(_codes(value) for value in detail.values())) if detail else set()
    if isinstance(detail, list):
        return set().union(*(_codes(value) for value in detail)) if detail else set()
    return {getattr(detail, "code", "invalid")}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, FeedbackError):
        body: dict[str, Any] = {"code": exc.code, "detail": exc.message}
        if exc.field:
            body["errors"] = {exc.field: [exc.message]}
        return Response(body, status=exc.status)
    if isinstance(exc, ApiError):
        body = {"code": exc.code, "detail": str(exc.detail)}
        if exc.errors is not None:
            body["errors"] = exc.errors
        return Response(body, status=exc.status_code, headers=exc.headers)
    response = site_exception_handler(exc, context)
    if (
        response is not None
        and isinstance(exc, exceptions.ValidationError)
        and "unknown_field" in _codes(exc.detail)
    ):
        response.data["code"] = "unknown_field"
        response.data["detail"] = "Unknown field. Only the fields in the API schema are accepted."
    return response
