from django.urls import path

from . import feeds, views, views_changes, views_compare

app_name = "revisions"
urlpatterns = [
    path("specs/<slug:spec>/", views.spec_detail, name="spec"),
    # Before the version pattern, which would take "feed" for a label.
    path("specs/<slug:spec>/versions/feed/", feeds.SpecVersionsFeed(), name="versions-feed"),
    path("specs/<slug:spec>/versions/<str:label>/", views.version_detail, name="version"),
    path("specs/<slug:spec>/versions/<str:label>/source.md", views.version_source, name="source"),
    path(
        "specs/<slug:spec>/versions/<str:label>/clauses/<str:clause_id>/",
        views.clause_detail,
        name="clause",
    ),
    path("specs/<slug:spec>/clauses/<str:clause_id>/", views.clause_latest, name="clause-latest"),
]
# A version's changelog: the editor's summary and the generated list of changes (helper E).
urlpatterns += [
    path(
        "specs/<slug:spec>/versions/<str:label>/changes/",
        views_changes.version_changes,
        name="changes",
    ),
]
# Comparing two versions and a clause's history (helper C).
urlpatterns += [
    path("specs/<slug:spec>/compare/", views_compare.compare_choose, name="compare-choose"),
    path(
        "specs/<slug:spec>/compare/<str:from_label>/<str:to_label>/",
        views_compare.compare_detail,
        name="compare",
    ),
    path(
        "specs/<slug:spec>/clauses/<str:clause_id>/history/",
        views_compare.clause_history_page,
        name="clause-history",
    ),
]
