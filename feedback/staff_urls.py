"""Staff pages under /staff/: the triage queue and labels (queue_urls), working an item
(work_urls). Every view behind these routes requires a staff role (and two-factor sign-in,
enforced by the staff middleware)."""

from django.urls import include, path

app_name = "staff"

urlpatterns = [
    path("", include("feedback.queue_urls")),
    path("", include("feedback.work_urls")),
    path("", include("feedback.reopen_urls")),
]
