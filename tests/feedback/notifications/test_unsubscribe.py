"""The unsubscribe link: works without signing in; GET shows and changes nothing; POST records
(idempotent); a mail client's RFC 8058 one-click POST needs no CSRF token (on this endpoint
only); a bad or altered link is a clear 400, never a 500. And the messages themselves: both
parts, the automatic-mail and List-Unsubscribe headers, delivered through the outbox."""

import re

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from feedback.messaging import unsubscribe_read, unsubscribe_token, unsubscribe_url
from feedback.models import Subscription, Unsubscribe
from feedback.transitions import feedback_transition, subscription_add
from modelspec_site.outbox.services import Outcome, outbox_deliver

from .conftest import last_id, rows

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


@pytest.fixture
def link():
    return path_of(unsubscribe_url(address="reader@example.org", scope="item:42"))


def test_get_shows_a_confirmation_and_changes_nothing(client, link):
    response = client.get(link)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Stop messages about this feedback item to r•••@example.org?" in page
    assert "reader@example.org" not in page  # masked
    assert 'method="post"' in page
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert not Unsubscribe.objects.exists()


def test_post_records_once(client, link):
    for _ in range(2):
        response = client.post(link)
        assert response.status_code == 200
        assert "You are unsubscribed" in response.content.decode()
    assert list(Unsubscribe.objects.values_list("email", "scope")) == [
        ("reader@example.org", "item:42")
    ]
    assert "You are unsubscribed" in client.get(link).content.decode()


def test_post_can_stop_everything(client, link):
    client.post(link, {"scope": "all"})
    assert list(Unsubscribe.objects.values_list("scope", flat=True)) == ["all"]


def test_one_click_post_needs_no_csrf_token_but_other_endpoints_do(link, file_item):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        link,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Unsubscribe.objects.filter(email="reader@example.org", scope="item:42").exists()
    # The follow endpoints keep CSRF protection.
    item = file_item()
    assert (
        strict.post(reverse("notifications:follow"), {"item": item.tracking_number}).status_code
        == 403
    )


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "eyJhIjoicmVhZGVyQGV4YW1wbGUub3JnIiwicyI6Iml0ZW06NDIifQ",  # the payload, unsigned
        signing.dumps({"a": "reader@example.org", "s": "item:42"}, salt="another-salt"),
        signing.dumps(
            {"a": "reader@example.org", "s": "everything"},
            salt="feedback.notifications.unsubscribe",
        ),
        signing.dumps(
            {"a": "not an address", "s": "all"}, salt="feedback.notifications.unsubscribe"
        ),
        signing.dumps(["reader@example.org", "all"], salt="feedback.notifications.unsubscribe"),
    ],
)
def test_a_bad_link_is_a_clear_400(client, token):
    for method in (client.get, client.post):
        response = method(reverse("notifications:unsubscribe", kwargs={"signed": token}))
        assert response.status_code == 400
        assert "This unsubscribe link does not work" in response.content.decode()
    assert not Unsubscribe.objects.exists()


def test_an_altered_link_is_refused():
    token = unsubscribe_token(address="reader@example.org", scope="item:42")
    assert unsubscribe_read(token) == ("reader@example.org", "item:42")
    _payload, _, rest = token.partition(":")
    forged = signing.b64_encode(b'{"a":"victim@example.org","s":"all"}').decode()
    assert unsubscribe_read(f"{forged}:{rest}") is None
    assert unsubscribe_read(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None


def test_the_link_in_a_message_stops_that_stream(client, file_item, staff, make_user):
    item = file_item(submitter_email="anon@example.org")
    subscription_add(item=item, email="watcher@example.org")
    triager = staff("triager")
    start = last_id()
    feedback_transition(acting_user=triager, item=item, action="triage")
    message = rows(after=start)["watcher@example.org"]
    link = re.search(r"<(http[^>]+)>", message.headers["List-Unsubscribe"]).group(1)
    assert link in message.body_text and link in message.body_html
    assert client.post(path_of(link)).status_code == 200
    # The e-mail follower is removed with it, and the next change reaches only the submitter.
    assert not Subscription.objects.filter(email="watcher@example.org").exists()
    start = last_id()
    feedback_transition(acting_user=triager, item=item, action="start_review")
    assert list(rows(after=start)) == ["anon@example.org"]


def test_a_delivered_message_has_both_parts_and_the_headers(file_item, staff):
    item = file_item(submitter_email="anon@example.org")
    start = last_id()
    feedback_transition(acting_user=staff("triager"), item=item, action="triage")
    message = rows(after=start)["anon@example.org"]
    mail.outbox.clear()
    assert outbox_deliver(message_id=message.pk) == Outcome.SENT
    [sent] = mail.outbox
    assert sent.to == ["anon@example.org"]
    assert sent.subject == f"[{item.tracking_number}] Triaged"
    assert "Its state is now: Triaged." in sent.body
    [(html, mimetype)] = sent.alternatives
    assert mimetype == "text/html"
    assert "Its state is now: <strong>Triaged</strong>." in html
    headers = sent.message()
    assert headers["Auto-Submitted"] == "auto-generated"
    assert headers["X-Auto-Response-Suppress"] == "All"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(
        r"<http://127\.0\.0\.1:8000/notifications/unsubscribe/[^/>]+/>",
        "".join(headers["List-Unsubscribe"].split()),
    )
    assert headers["Content-Language"] == "en"
