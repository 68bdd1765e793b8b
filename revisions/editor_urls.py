"""Editors' pages under /staff/: change proposals, draft versions, lineage, publishing."""

from django.urls import path  # noqa: F401  (helpers add routes here)

app_name = "revisions_editor"
urlpatterns: list = []
