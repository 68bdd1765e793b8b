"""The admin shows the ledger read-only and escaped."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from modelspec_site.audit.models import Event
from modelspec_site.audit.services import audit_record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]

PAYLOAD = '<script>alert("x")</script>'


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-123")


@pytest.fixture
def get_as_root(rf: RequestFactory, root):
    def build(path: str):
        request = rf.get(path)
        request.user = root
        return request

    return build


@pytest.fixture
def model_admin():
    return admin.site.get_model_admin(Event)


def test_nothing_can_be_added_changed_or_deleted(get_as_root, model_admin):
    request = get_as_root("/admin/audit/event/")
    event = audit_record(actor=None, action="test.recorded")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    assert model_admin.has_view_permission(request, event)
    assert model_admin.get_actions(request) == {}


def test_user_text_is_escaped_in_the_list_and_the_detail(get_as_root, model_admin):
    # create_user does not run the username validators: a hostile label can reach the ledger.
    hostile = get_user_model().objects.create_user(PAYLOAD, "h@example.org", "pw-host-123")
    event = audit_record(
        actor=hostile,
        action="test.recorded",
        subjects=[{"type": "feedback.item", "id": "1", "label": PAYLOAD}],
        data={"summary": PAYLOAD},
    )
    listing = model_admin.changelist_view(get_as_root("/admin/audit/event/"))
    listing.render()
    detail = model_admin.change_view(get_as_root(f"/admin/audit/event/{event.pk}/change/"), "1")
    detail.render()
    for response in (listing, detail):
        html = response.content.decode()
        assert response.status_code == 200
        assert "test.recorded" in html
        assert PAYLOAD not in html
        assert "&lt;script&gt;" in html
