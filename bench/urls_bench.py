"""The site's URLs plus `/bench/trivial/`, the baseline every page is compared with: a view that
does no work, behind the same middleware stack as the real pages."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from modelspec_site.urls import (  # noqa: F401 - the error handlers are looked up here
    handler400,
    handler403,
    handler404,
    handler500,
)
from modelspec_site.urls import urlpatterns as site_urlpatterns


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial, name="bench-trivial"), *site_urlpatterns]
