"""Error pages: HTML for people, JSON with a stable code under /api/."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def _respond(
    request: HttpRequest, status: int, code: str, title: str, message: str
) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "detail": message}, status=status)
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _respond(request, 400, "bad_request", _("Bad request"), _("The request was not valid."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _respond(
        request, 403, "permission_denied", _("Not allowed"), _("You may not open this page.")
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _respond(
        request, 404, "not_found", _("Not found"), _("There is nothing at this address.")
    )


def server_error(request: HttpRequest) -> HttpResponse:
    # No template context processors here: the failure may be in them.
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "server_error", "detail": "Server error."}, status=500)
    return HttpResponse(
        "<!doctype html><title>Server error</title><h1>Server error</h1>"
        "<p>Something went wrong on our side. It has been logged.</p>",
        status=500,
    )


class ServiceError(Exception):
    """A named refusal from a service: the HTML layer shows `message` next to `field`; the API
    answers with `code` (stable, documented) and the HTTP status `status`. Each app subclasses
    it (feedback.errors.FeedbackError, revisions.proposals.RevisionError)."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
