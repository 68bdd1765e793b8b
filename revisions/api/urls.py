"""/api/v1/ routes for reading specs, versions and clauses."""

from django.urls import path

from . import views

app_name = "revisions_api"
urlpatterns = [
    path("specs/", views.spec_list, name="spec-list"),
    path("specs/<slug:spec>/versions/", views.version_list, name="version-list"),
    path("specs/<slug:spec>/versions/<str:label>/", views.version_detail, name="version-detail"),
    path(
        "specs/<slug:spec>/versions/<str:label>/clauses/<str:clause_id>/",
        views.clause_detail,
        name="clause-detail",
    ),
    path(
        "specs/<slug:spec>/clauses/<str:clause_id>/history/",
        views.clause_history,
        name="clause-history",
    ),
    path(
        "specs/<slug:spec>/compare/<str:from_label>/<str:to_label>/",
        views.compare,
        name="compare",
    ),
]
