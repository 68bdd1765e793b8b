"""Everything under /api/v1/, gathered from the apps."""

from django.urls import include, path

urlpatterns = [
    path("", include("feedback.api.urls")),  # first: submissions resolve soonest
    path("", include("revisions.api.urls")),
    path("audit/", include("modelspec_site.audit.api_urls")),
]
