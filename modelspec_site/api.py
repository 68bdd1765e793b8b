"""API error mapping: every error is JSON with a stable `code`, never an HTML page or a 500 for
bad input."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, permissions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _code_for(exc: Exception) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            return codes
    return "error"


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = _code_for(exc)
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": code, "detail": "Invalid input.", "errors": response.data}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        body = {"code": code, "detail": str(detail)}
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        body["code"] = "throttled"
    response.data = body
    return response


# Operations only staff may call: left out of the public schema, documented in the staff one.
STAFF_ONLY_PATH_PREFIXES = ("/api/v1/audit/events/",)  # audit/checkpoints/ is public


def public_operations_only(endpoints: list, **kwargs) -> list:
    """drf-spectacular preprocessing hook for the public schema: leaves out the staff-only
    prefixes and every view that says `staff_only = True`."""
    return [
        e
        for e in endpoints
        if not e[0].startswith(STAFF_ONLY_PATH_PREFIXES)
        and not getattr(getattr(e[3], "cls", None), "staff_only", False)
    ]


class IsStaffMember(permissions.BasePermission):
    """Anyone holding a staff role (two-factor sign-in is enforced by the middleware)."""

    def has_permission(self, request, view) -> bool:
        from modelspec_site.accounts.roles import is_staff_member

        return is_staff_member(request.user)
