"""Bench-only: name the worker process that answered, so the benchmark can make sure every
gunicorn worker has booted and warmed its page cache before it measures anything."""

import os
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class WorkerIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-Bench-Worker"] = str(os.getpid())
        return response
