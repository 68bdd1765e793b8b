"""The outbox in the admin: read-only, auditors only, bodies escaped."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction

from modelspec_site.outbox.admin import PRIVATE_FIELDS
from modelspec_site.outbox.models import OutboxMessage
from modelspec_site.outbox.services import outbox_enqueue

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>alert("x")</script>'


@pytest.fixture
def model_admin():
    return admin.site.get_model_admin(OutboxMessage)


@pytest.fixture
def message(event):
    with transaction.atomic():
        return outbox_enqueue(
            event=event,
            recipient="private@example.org",
            kind="feedback.receipt",
            subject="Receipt",
            body_text=f"text {PAYLOAD}",
            body_html=f"<p>{PAYLOAD}</p>",
        )


@pytest.fixture
def request_as(rf):
    def build(user, path="/admin/outbox/outboxmessage/"):
        request = rf.get(path)
        request.user = user
        return request

    return build


def test_only_auditors_and_superusers_see_it_and_nobody_changes_it(
    model_admin, message, make_user, request_as
):
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-123")
    auditor = make_user("audrey", roles=["auditor"], is_staff=True)
    triager = make_user("tom", roles=["triager", "moderator"], is_staff=True)
    for user, allowed in ((root, True), (auditor, True), (triager, False)):
        request = request_as(user)
        assert model_admin.has_module_permission(request) is allowed
        assert model_admin.has_view_permission(request, message) is allowed
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, message)
        assert not model_admin.has_delete_permission(request, message)
    assert model_admin.get_actions(request_as(root)) == {}
    # Should the view permission ever widen, the private part still stays with auditors.
    assert not set(PRIVATE_FIELDS) & set(model_admin.get_fields(request_as(triager), message))
    assert set(PRIVATE_FIELDS) <= set(model_admin.get_fields(request_as(auditor), message))


def test_bodies_are_shown_as_escaped_text(model_admin, message, make_user, request_as):
    auditor = make_user("audrey", roles=["auditor"], is_staff=True)
    path = f"/admin/outbox/outboxmessage/{message.pk}/change/"
    detail = model_admin.change_view(request_as(auditor, path), str(message.pk))
    detail.render()
    html = detail.content.decode()
    assert "private@example.org" in html
    assert PAYLOAD not in html
    assert "&lt;script&gt;" in html
    listing = model_admin.changelist_view(request_as(auditor))
    listing.render()
    assert PAYLOAD not in listing.content.decode()
