"""Routes under /notifications/: unsubscribing (signed link, no sign-in), following and
unfollowing (accounts, POST), and the anonymous submitter's e-mail switch (private link)."""

from django.urls import path

from . import urls as _feedback_urls  # noqa: F401  (registers the tracking-number converter)
from . import views_notify

app_name = "notifications"

urlpatterns = [
    path("unsubscribe/<str:signed>/", views_notify.unsubscribe, name="unsubscribe"),
    path("follow/", views_notify.follow, name="follow"),
    path("unfollow/", views_notify.unfollow, name="unfollow"),
    path(
        "private/<feedback_tracking:tracking_number>/<str:token>/",
        views_notify.submitter_follow,
        name="submitter",
    ),
]
