"""/api/v1/ routes for feedback."""

from django.urls import path

from . import disposition, transitions, views

app_name = "feedback_api"
urlpatterns = [
    path("feedback/", views.FeedbackCollectionView.as_view(), name="feedback-list"),
    path(
        "feedback/<str:tracking_number>/",
        views.FeedbackDetailView.as_view(),
        name="feedback-detail",
    ),
    path(
        "feedback/<str:tracking_number>/endorse/",
        views.FeedbackEndorseView.as_view(),
        name="feedback-endorse",
    ),
    *transitions.urls,  # staff: workflow actions and reviewers' positions
    path(
        "specs/<slug:spec>/versions/<str:label>/disposition/",
        disposition.DispositionView.as_view(),
        name="version-disposition",
    ),
]
