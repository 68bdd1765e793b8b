"""/api/v1/audit/: the ledger for auditors; checkpoints for everyone."""

from django.urls import path

from modelspec_site.audit import api

app_name = "audit_api"
urlpatterns = [
    path("events/", api.EventListView.as_view(), name="event-list"),
    path("events/export/", api.EventExportView.as_view(), name="event-export"),
    path("checkpoints/", api.CheckpointListView.as_view(), name="checkpoint-list"),
]
