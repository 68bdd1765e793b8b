"""Dismissing a submitter's request to reopen an item (feedback.views_reopen). Included by
feedback/staff_urls.py under /staff/ with the namespace "staff"."""

from django.urls import path

from . import urls as _public_urls  # noqa: F401  registers the feedback_tracking converter
from . import views_reopen

urlpatterns = [
    path(
        "items/<feedback_tracking:tracking_number>/reopen-request/dismiss/",
        views_reopen.item_reopen_request_dismiss,
        name="item-reopen-request-dismiss",
    ),
]
