"""The triage queue and labels: /staff/queue/… and /staff/labels/ (see feedback/staff_urls.py,
namespace "staff"). Staff only; auditors read but do not act."""

from django.urls import path

from . import views_queue

urlpatterns = [
    path("queue/", views_queue.queue_list, name="queue"),
    path("queue/bulk/", views_queue.queue_bulk, name="queue-bulk"),
    path("queue/views/", views_queue.queue_view_save, name="queue-view-save"),
    path(
        "queue/views/<int:view_id>/delete/",
        views_queue.queue_view_delete,
        name="queue-view-delete",
    ),
    path("labels/", views_queue.labels, name="labels"),
]
