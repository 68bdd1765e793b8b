"""POST /api/v1/feedback/{tracking_number}/endorse/: once per account, once per browser."""

import pytest
from django.test import Client

from feedback.models import Endorsement, FeedbackItem
from feedback.services import token_hash
from modelspec_site.audit.models import Event

from .conftest import URL

pytestmark = pytest.mark.django_db


def _endorse(client, item, **extra):
    return client.post(f"{URL}{item.tracking_number}/endorse/", **extra)


def test_an_account_endorses_once(client, make_user, file_item):
    item = file_item()
    user = make_user("commenter")
    client.force_login(user)
    first = _endorse(client, item)
    assert first.status_code == 201
    assert first.json() == {"tracking_number": item.tracking_number, "endorsement_count": 1}
    assert "msf_browser" not in first.cookies
    again = _endorse(client, item)
    assert again.status_code == 409
    assert again.json()["code"] == "already_endorsed"
    assert Endorsement.objects.filter(item=item, user=user).count() == 1
    assert FeedbackItem.objects.get(pk=item.pk).endorsement_count == 1
    assert Event.objects.filter(action="feedback.endorsed").count() == 1


def test_a_browser_endorses_once_by_its_cookie(anonymous, file_item, settings):
    item = file_item()
    first = _endorse(anonymous, item)
    assert first.status_code == 201
    cookie = first.cookies["msf_browser"]
    assert len(cookie.value) >= 40
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # SESSION_COOKIE_SECURE is off in tests
    assert cookie["max-age"] == 2 * 365 * 24 * 3600
    stored = Endorsement.objects.get(item=item)
    assert stored.user is None
    assert stored.anonymous_key_hash == token_hash(cookie.value)  # only the hash is kept

    again = _endorse(anonymous, item)  # the client sends the cookie back
    assert again.status_code == 409
    assert again.json()["code"] == "already_endorsed"
    assert "msf_browser" not in again.cookies  # the existing cookie is kept

    other_browser = Client()
    assert _endorse(other_browser, item).json()["endorsement_count"] == 2
    assert FeedbackItem.objects.get(pk=item.pk).endorsement_count == 2


def test_the_cookie_is_secure_when_sessions_are(anonymous, file_item, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = _endorse(anonymous, file_item())
    assert response.cookies["msf_browser"]["secure"] is True


def test_a_malformed_cookie_is_replaced(anonymous, file_item):
    item = file_item()
    anonymous.cookies["msf_browser"] = "short"
    response = _endorse(anonymous, item)
    assert response.status_code == 201
    assert response.cookies["msf_browser"].value != "short"
    assert not Endorsement.objects.filter(anonymous_key_hash=token_hash("short")).exists()


def test_endorsing_a_missing_item_is_404(anonymous):
    response = anonymous.post(f"{URL}MS-2025-99999/endorse/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Endorsement.objects.exists()


def test_staff_may_endorse_internal_items(staff_client, file_item, make_user):
    insider = make_user("insider", roles=["triager"], is_staff=True)
    item = file_item(acting_user=insider, visibility="internal")
    client = staff_client("reviewer")
    assert _endorse(client, item).status_code == 201


def test_a_cross_site_endorsement_is_refused(anonymous, file_item):
    item = file_item()
    response = _endorse(anonymous, item, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert response.json()["code"] == "cross_origin"
    assert not Endorsement.objects.exists()


def test_the_count_shows_in_the_item(anonymous, file_item):
    item = file_item()
    for _ in range(3):
        _endorse(Client(), item)
    data = anonymous.get(f"{URL}{item.tracking_number}/").json()
    assert data["endorsement_count"] == 3
