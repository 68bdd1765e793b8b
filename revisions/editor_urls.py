"""Editors' pages under /staff/: change proposals, draft versions, lineage, publishing."""

from django.urls import path

from . import views_publish

app_name = "revisions_editor"
urlpatterns: list = []
# Publishing (helper E): the button, the job's progress page, retry.
urlpatterns += [
    path("drafts/<int:pk>/publish/", views_publish.publish, name="publish"),
    path("publish/<int:job_id>/", views_publish.publish_job, name="publish-job"),
    path("publish/<int:job_id>/retry/", views_publish.publish_retry, name="publish-retry"),
]
# Change proposals and the draft builder (helper D).
from . import views_editor as _ed  # noqa: E402

urlpatterns += [
    path("proposals/", _ed.proposal_list, name="proposals"),
    path("proposals/new/", _ed.proposal_new, name="proposal-new"),
    path("proposals/<int:pk>/", _ed.proposal_detail, name="proposal"),
    path("proposals/<int:pk>/edit/", _ed.proposal_edit, name="proposal-edit"),
    path("proposals/<int:pk>/position/", _ed.proposal_position_view, name="proposal-position"),
    path("proposals/<int:pk>/withdraw/", _ed.proposal_withdraw_view, name="proposal-withdraw"),
    path("drafts/", _ed.draft_list, name="drafts"),
    path("drafts/start/", _ed.draft_start_view, name="draft-start"),
    path("drafts/<int:pk>/", _ed.draft_detail, name="draft"),
    path("drafts/<int:pk>/apply/", _ed.draft_apply, name="draft-apply"),
    path("drafts/<int:pk>/clauses/<str:clause_id>/", _ed.draft_clause, name="draft-clause"),
    path("drafts/<int:pk>/import/", _ed.draft_import, name="draft-import"),
    path("drafts/<int:pk>/delete/", _ed.draft_delete_view, name="draft-delete"),
]
# Lineage and its corrections (helper A).
from . import views_lineage as _lin  # noqa: E402

urlpatterns += [
    path("drafts/<int:pk>/lineage/", _lin.lineage, name="lineage"),
    path("drafts/<int:pk>/lineage/override/", _lin.lineage_override, name="lineage-override"),
    path(
        "drafts/<int:pk>/lineage/override/<int:override_id>/clear/",
        _lin.lineage_override_clear_view,
        name="lineage-override-clear",
    ),
]
