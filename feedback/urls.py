from django.urls import path, register_converter

from . import feeds, views, views_carry


class TrackingNumberConverter:
    """MS-2025-00042: a prefix of capitals (internal items: the prefix and I), a year, a counter."""

    regex = r"[A-Z]{2,9}-[0-9]{4}-[0-9]{5,9}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TrackingNumberConverter, "feedback_tracking")

app_name = "feedback"
urlpatterns = [
    path("", views.feedback_tracker, name="tracker"),
    path("new/", views.feedback_new, name="new"),
    path("similar/", views.feedback_similar, name="similar"),
    # Atom feeds (public only).
    path("decisions/feed/", feeds.DecisionsFeed(), name="decisions-feed"),
    path(
        "clauses/<slug:spec>/<str:clause_id>/feed/",
        feeds.ClauseFeedbackFeed(),
        name="clause-feed",
    ),
    path("<feedback_tracking:tracking_number>/", views.feedback_item, name="item"),
    path("<feedback_tracking:tracking_number>/receipt/", views.feedback_receipt, name="receipt"),
    path(
        "<feedback_tracking:tracking_number>/follow/<str:token>/",
        views.feedback_follow,
        name="follow",
    ),
    path(
        "<feedback_tracking:tracking_number>/endorse/", views.feedback_endorse_view, name="endorse"
    ),
    path("<feedback_tracking:tracking_number>/report/", views.feedback_report_view, name="report"),
    # The signed-in submitter's own moves (the private follow link posts to itself instead).
    path("<feedback_tracking:tracking_number>/answer/", views.feedback_answer, name="answer"),
    path("<feedback_tracking:tracking_number>/withdraw/", views.feedback_withdraw, name="withdraw"),
    # The submitter's answer after a new version carried the item forward (views_carry).
    path(
        "<feedback_tracking:tracking_number>/carried/",
        views_carry.carried_account,
        name="carried",
    ),
    path(
        "<feedback_tracking:tracking_number>/carried/<str:signed>/",
        views_carry.carried_signed,
        name="carried-signed",
    ),
    path(
        "<feedback_tracking:tracking_number>/follow/<str:token>/carried/",
        views_carry.carried_follow,
        name="carried-follow",
    ),
]
