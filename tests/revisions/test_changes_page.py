"""A version's changes page: the editor's summary (sanitised Markdown), the generated list of
changes from the stored lineage, the feedback behind each change (only what the viewer may
see), links to the compare view and the disposition report; drafts only for staff."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback.models import FeedbackItem, ProposalLink, Visibility
from revisions.models import ChangeProposal, Version
from revisions.services import version_publish
from tests.revisions.test_publishing import CURRENT, SPEC, file_item, make_draft

pytestmark = pytest.mark.django_db


def _url(label: str) -> str:
    return reverse("revisions:changes", kwargs={"spec": SPEC, "label": label})


@pytest.fixture
def published(make_user):
    editor = make_user("changes-editor", roles=["editor"], is_staff=True)
    draft = make_draft()
    Version.objects.filter(pk=draft.pk).update(
        changelog="We **reworded** the overview.\n\n<script>alert(1)</script>"
    )
    current = Version.objects.get(spec__slug=SPEC, label=CURRENT)
    public = file_item(clause="structure", summary="Reword the overview please")
    internal = file_item(clause="structure", summary="Internal reason for the change")
    FeedbackItem.objects.filter(pk=internal.pk).update(visibility=Visibility.INTERNAL)
    FeedbackItem.objects.filter(pk__in=[public.pk, internal.pk]).update(state="accepted")
    proposal = ChangeProposal.objects.create(
        spec=draft.spec, operation="edit", state=ChangeProposal.State.APPLIED,
        base_version=current, rationale="Reworded", author=editor, draft=draft,
        applied_anchor="structure",
    )  # fmt: skip
    for item in (public, internal):
        ProposalLink.objects.create(item=item, proposal=proposal)
    version_publish(version=draft, acting_user=editor)
    return {"version": draft, "public": public, "internal": internal}


def test_the_changes_page_lists_changes_with_their_feedback(client, published):
    version = published["version"]
    response = client.get(_url(version.label))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>reworded</strong>" in html
    assert "<script>alert(1)</script>" not in html  # the summary is sanitised
    assert 'id="kind-added"' in html and "#brand_new_chapter" in html
    assert 'id="kind-edited"' in html
    # The edited clause names the public item behind it, never the internal one.
    public = FeedbackItem.objects.get(pk=published["public"].pk).tracking_number
    internal = FeedbackItem.objects.get(pk=published["internal"].pk).tracking_number
    assert public in html and "Reword the overview please" in html
    assert internal not in html and "Internal reason" not in html
    edited = html[html.index('id="kind-edited"') :]
    assert edited.index(public) < edited.index("</section>")
    assert reverse("disposition:page", kwargs={"spec": SPEC, "label": version.label}) in html
    # The unchanged clauses are counted, not listed.
    unchanged = html[html.index('id="kind-unchanged"') :]
    assert "#overview" not in unchanged


def test_staff_see_the_internal_feedback_behind_a_change(staff_client, published):
    html = staff_client("triager").get(_url(published["version"].label)).content.decode()
    internal = FeedbackItem.objects.get(pk=published["internal"].pk).tracking_number
    assert internal in html


def test_a_draft_changes_page_is_for_staff_only(client, staff_client):
    draft = make_draft("2099-05-05")
    assert client.get(_url(draft.label)).status_code == 404
    assert client.get(_url("2098-01-01")).status_code == 404
    response = staff_client("editor").get(_url(draft.label))
    assert response.status_code == 200 and "Draft: not published" in response.content.decode()


def test_the_first_version_says_there_is_nothing_to_compare(client):
    html = client.get(_url("2025-02-12")).content.decode()
    assert "This is the first version" in html


def test_the_changes_page_costs_a_constant_number_of_queries(
    client, published, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        assert client.get(_url(published["version"].label)).status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(_url(CURRENT)).status_code == 200


def test_version_pages_link_to_their_changes(client):
    link = _url(CURRENT)
    assert link in client.get(reverse("revisions:spec", kwargs={"spec": SPEC})).content.decode()
    page = client.get(reverse("revisions:version", kwargs={"spec": SPEC, "label": CURRENT}))
    assert link in page.content.decode()
