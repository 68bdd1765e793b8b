from django.urls import path

from . import views

app_name = "revisions"
urlpatterns = [
    path("specs/<slug:spec>/", views.spec_detail, name="spec"),
    path("specs/<slug:spec>/versions/<str:label>/", views.version_detail, name="version"),
    path("specs/<slug:spec>/versions/<str:label>/source.md", views.version_source, name="source"),
    path(
        "specs/<slug:spec>/versions/<str:label>/clauses/<str:clause_id>/",
        views.clause_detail,
        name="clause",
    ),
    path("specs/<slug:spec>/clauses/<str:clause_id>/", views.clause_latest, name="clause-latest"),
]
