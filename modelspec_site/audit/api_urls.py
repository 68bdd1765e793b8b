"""/api/v1/audit/: the ledger for auditors."""

from django.urls import path

from modelspec_site.audit import api

app_name = "audit_api"
urlpatterns = [
    path("events/", api.EventListView.as_view(), name="event-list"),
]
