"""The public transparency dashboard, included at /transparency/ (namespace "transparency")."""

from django.urls import path

from . import views_transparency

app_name = "transparency"

urlpatterns = [
    path("", views_transparency.transparency_dashboard, name="dashboard"),
]
