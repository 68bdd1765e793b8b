from django.urls import path

app_name = "revisions"
urlpatterns: list = []
