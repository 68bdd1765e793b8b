"""Open data downloads, under /data/ (see feedback.opendata)."""

from django.urls import path

from . import views_opendata

app_name = "data"
urlpatterns = [
    path("", views_opendata.data_index, name="index"),
    path("<slug:dataset>.csv", views_opendata.data_download, {"fmt": "csv"}, name="csv"),
    path("<slug:dataset>.jsonl", views_opendata.data_download, {"fmt": "jsonl"}, name="jsonl"),
]
