"""The disposition report of a version, beside the version's own pages (included at the site's
root from modelspec_site/urls.py: revisions, which owns `specs/…`, does not know feedback)."""

from django.urls import path

from . import views_disposition

app_name = "disposition"
urlpatterns = [
    path(
        "specs/<slug:spec>/versions/<str:label>/disposition/",
        views_disposition.disposition_page,
        name="page",
    ),
    path(
        "specs/<slug:spec>/versions/<str:label>/disposition.csv",
        views_disposition.disposition_csv,
        name="csv",
    ),
    path(
        "specs/<slug:spec>/versions/<str:label>/disposition.json",
        views_disposition.disposition_json,
        name="json",
    ),
]
