"""Moderation through the admin: moderators hide with a public reason; nothing is deleted."""

import pytest

from feedback.models import FeedbackItem
from feedback.services import Submission, feedback_submit
from modelspec_site.audit.models import Event
from revisions.models import Version

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    version = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    return feedback_submit(
        acting_user=None,
        submission=Submission(
            version=version,
            clause_id="letter_and_spirit",
            kind="disagree",
            summary="Rude text here",
            submitter_email="private-8f3a@example.org",
        ),
    ).item


def test_a_moderator_hides_and_restores_an_item(staff_client, item):
    moderator = staff_client("moderator")
    url = f"/admin/feedback/feedbackitem/{item.pk}/change/"
    page = moderator.get(url).content.decode()
    assert "private-8f3a@example.org" in page  # moderators see the private address
    missing_reason = moderator.post(url, {"hidden": "on", "hidden_reason": ""})
    assert missing_reason.status_code == 200
    item.refresh_from_db()
    assert not item.hidden
    assert moderator.post(url, {"hidden": "on", "hidden_reason": "Abusive"}).status_code == 302
    item.refresh_from_db()
    assert (item.hidden, item.hidden_reason, item.summary) == (True, "Abusive", "Rude text here")
    assert moderator.post(url, {"hidden_reason": ""}).status_code == 302
    item.refresh_from_db()
    assert not item.hidden
    actions = list(
        Event.objects.filter(
            subjects__contains=[{"id": str(item.pk), "type": "feedback.feedbackitem"}]
        )
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["feedback.submitted", "feedback.hidden", "feedback.restored"]


def test_other_staff_may_read_but_not_moderate_nor_see_addresses(staff_client, item):
    triager = staff_client("triager")
    url = f"/admin/feedback/feedbackitem/{item.pk}/change/"
    page = triager.get(url)
    assert page.status_code == 200
    assert "private-8f3a@example.org" not in page.content.decode()
    assert triager.post(url, {"hidden": "on", "hidden_reason": "x"}).status_code == 403
    assert not FeedbackItem.objects.get(pk=item.pk).hidden
