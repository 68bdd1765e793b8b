"""/staff/audit/: the auditor's view of the ledger (namespace "audit"). Auditors only."""

from django.urls import path

from modelspec_site.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("events/<int:seq>/", views.event_detail, name="event"),
    path(
        "subjects/<str:subject_type>/<str:subject_id>/",
        views.subject_timeline,
        name="timeline",
    ),
    path("export.<str:fmt>", views.export, name="export"),
]
