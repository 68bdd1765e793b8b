"""Working one item: the staff item page and the forms on it (POST only). Included by
feedback/staff_urls.py under /staff/ with the namespace "staff"."""

from django.urls import path

from . import urls as _public_urls  # noqa: F401  registers the feedback_tracking converter
from . import views_scheduling, views_work

urlpatterns = [
    path("items/<feedback_tracking:tracking_number>/", views_work.item_work, name="item"),
    path(
        "items/<feedback_tracking:tracking_number>/transition/",
        views_work.item_transition,
        name="item-transition",
    ),
    path(
        "items/<feedback_tracking:tracking_number>/assign/",
        views_work.item_assign_view,
        name="item-assign",
    ),
    path(
        "items/<feedback_tracking:tracking_number>/labels/",
        views_work.item_labels_view,
        name="item-labels",
    ),
    path(
        "items/<feedback_tracking:tracking_number>/notes/", views_work.item_note, name="item-note"
    ),
    path(
        "items/<feedback_tracking:tracking_number>/replies/",
        views_work.item_reply,
        name="item-reply",
    ),
    path(
        "items/<feedback_tracking:tracking_number>/position/",
        views_work.item_position,
        name="item-position",
    ),
    path(
        "items/<feedback_tracking:tracking_number>/prepare/",
        views_work.item_prepare,
        name="item-prepare",
    ),
    path(
        "items/<feedback_tracking:tracking_number>/publish/",
        views_work.item_publish,
        name="item-publish",
    ),
    # Scheduling internal material for publication (feedback.views_scheduling).
    path(
        "items/<feedback_tracking:tracking_number>/publication/",
        views_scheduling.publication_page,
        name="item-publication",
    ),
    path(
        "items/<feedback_tracking:tracking_number>/publication/schedule/",
        views_scheduling.publication_schedule_view,
        name="item-publication-schedule",
    ),
    path(
        "items/<feedback_tracking:tracking_number>/publication/<int:schedule_id>/cancel/",
        views_scheduling.publication_cancel_view,
        name="item-publication-cancel",
    ),
]
# Change proposals from an item (helper D).
from . import views_proposals  # noqa: E402

urlpatterns += [
    path(
        "items/<feedback_tracking:tracking_number>/propose/",
        views_proposals.item_propose,
        name="item-propose",
    ),
    path(
        "items/<feedback_tracking:tracking_number>/proposals/link/",
        views_proposals.item_proposal_link,
        name="item-proposal-link",
    ),
]
# Removing a link between an item and a change proposal (not once it is published).
urlpatterns += [
    path(
        "items/<feedback_tracking:tracking_number>/proposals/<int:proposal_id>/unlink/",
        views_proposals.item_proposal_unlink,
        name="item-proposal-unlink",
    ),
]
