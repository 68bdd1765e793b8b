"""POST /api/v1/feedback/: what a submission stores, what the receipt says, and who may file
what when."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import FeedbackItem
from feedback.services import token_hash
from modelspec_site.audit.models import Event
from revisions.models import ClauseText

from .conftest import CLAUSE, PASSAGE, URL

pytestmark = pytest.mark.django_db


def test_an_anonymous_submission_is_stored_with_its_event_and_a_receipt(
    anonymous, post, payload, count, version
):
    before = count()
    text = ClauseText.objects.get(version=version, anchor=CLAUSE)
    example = text.examples.order_by("position").first()
    response = post(
        anonymous,
        payload(
            example=example.slug,
            quote={"exact": PASSAGE, "start": text.plain_text.index(PASSAGE)},
            severity="high",
            suggested_text="…or a later instruction in the same message.",
            example_conversation=[
                {"role": "developer", "content": "Answer in French."},
                {"role": "user", "content": "English please.", "label": None},
                {"role": "assistant", "content": "Bien sûr", "label": "BAD"},
            ],
            affiliation="University of Somewhere",
            conflict_of_interest="None.",
            submitter_name="Ada",
            submitter_email="ada@example.org",
        ),
    )
    assert response.status_code == 201, response.json()
    receipt = response.json()
    assert set(receipt) == {
        "tracking_number", "url", "html_url", "follow_token", "state", "created_at",
    }  # fmt: skip
    number = receipt["tracking_number"]
    assert receipt["url"] == f"http://testserver{URL}{number}/"
    assert receipt["html_url"] == f"http://testserver/feedback/{number}/"
    assert receipt["state"] == "received"
    assert response["Location"] == receipt["url"]
    assert response["Cache-Control"] == "no-store"

    item = FeedbackItem.objects.get(tracking_number=number)
    assert item.follow_token_hash == token_hash(receipt["follow_token"])
    assert (item.submitter, item.submitter_email, item.visibility) == (
        None,
        "ada@example.org",
        "public",
    )
    assert (item.example, item.quote_exact, item.severity) == (example, PASSAGE, "high")
    assert item.example_conversation[2] == {
        "role": "assistant",
        "content": "Bien sûr",
        "label": "BAD",
    }
    assert item.example_conversation[0]["label"] is None

    after = count()
    assert (after.items, after.submitted_events) == (before.items + 1, before.submitted_events + 1)
    event = Event.objects.filter(action="feedback.submitted").latest("seq")
    assert event.data["tracking_number"] == number
    assert event.actor_kind == "anonymous"


def test_the_follow_token_is_shown_only_in_the_receipt(anonymous, post, payload):
    receipt = post(anonymous, payload()).json()
    token = receipt["follow_token"]
    detail = anonymous.get(receipt["url"])
    listing = anonymous.get(URL)
    assert detail.status_code == listing.status_code == 200
    for response in (detail, listing):
        assert token not in response.content.decode()
        assert "follow_token" not in response.content.decode()
        assert "ada@example.org" not in response.content.decode()


def test_a_signed_in_submission_is_the_users(client, make_user, post, payload):
    user = make_user("commenter")
    client.force_login(user)
    response = post(client, payload(submitter_name="Commenter"))
    assert response.status_code == 201
    item = FeedbackItem.objects.get(tracking_number=response.json()["tracking_number"])
    assert item.submitter == user
    event = Event.objects.filter(action="feedback.submitted").latest("seq")
    assert (event.actor_kind, event.actor_id) == ("user", user.pk)


def test_text_round_trips_exactly_and_markup_stays_text(anonymous, post, payload):
    summary = "Right\u202eto\u202cleft, emoji 🧪, e\u0301, <script>alert(1)</script>"
    body = "Line one\n\tindented <img src=x onerror=alert(1)> & \"quotes\" 'single'"
    conversation = [{"role": "user", "content": "<b>bold?</b>\u2067isolate\u2069"}]
    response = post(
        anonymous,
        payload(summary=summary, body=body, example_conversation=conversation),
    )
    assert response.status_code == 201, response.json()
    detail = anonymous.get(response.json()["url"])
    assert detail["Content-Type"] == "application/json"
    shown = detail.json()
    assert shown["summary"] == summary
    assert shown["body"] == body
    assert shown["example_conversation"][0]["content"] == conversation[0]["content"]
    item = FeedbackItem.objects.get(tracking_number=shown["tracking_number"])
    assert (item.summary, item.body) == (summary, body)


def test_windows_line_ends_are_stored_as_line_feeds(anonymous, post, payload):
    response = post(anonymous, payload(body="one\r\ntwo\rthree"))
    assert response.status_code == 201
    assert anonymous.get(response.json()["url"]).json()["body"] == "one\ntwo\nthree"


def test_a_quote_that_is_not_in_the_clause_is_refused(anonymous, post, payload, count):
    before = count()
    response = post(anonymous, payload(quote={"exact": "words the clause never says"}))
    assert response.status_code == 400
    assert response.json() == {
        "code": "quote_mismatch",
        "detail": "The quoted passage is not in this clause's text. Select it again.",
        "errors": {"quote": ["The quoted passage is not in this clause's text. Select it again."]},
    }
    assert count() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"spec": "no-such-spec"}, "spec"),
        ({"version": "1999-01-01"}, "version"),
        ({"clause": "no_such_clause"}, "clause"),
        ({"example": "no-such-example"}, "example"),
    ],
)
def test_unknown_targets_are_field_errors(anonymous, post, payload, count, overrides, field):
    before = count()
    response = post(anonymous, payload(**overrides))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_target"
    assert list(body["errors"]) == [field]
    assert count() == before


def _close_comments(version):
    version.comment_closes_at = timezone.now() - timedelta(days=1)
    version.save(update_fields=["comment_closes_at"])


def test_a_closed_comment_period_refuses_the_public(
    anonymous, client, make_user, post, payload, count, version
):
    _close_comments(version)
    before = count()
    response = post(anonymous, payload())
    assert response.status_code == 403
    assert response.json()["code"] == "comment_period_closed"
    client.force_login(make_user("commenter"))
    assert post(client, payload()).json()["code"] == "comment_period_closed"
    assert count() == before


def test_staff_may_file_internal_items_after_the_period_closed(
    staff_client, post, payload, count, version
):
    _close_comments(version)
    before = count()
    client = staff_client("triager")
    assert post(client, payload()).status_code == 403  # public items: closed for staff too
    response = post(client, payload(visibility="internal"))
    assert response.status_code == 201, response.json()
    item = FeedbackItem.objects.get(tracking_number=response.json()["tracking_number"])
    assert item.visibility == "internal"
    assert count().items == before.items + 1
    event = Event.objects.filter(action="feedback.submitted").latest("seq")
    assert event.visibility == "internal"


def test_only_staff_may_file_internal_items(anonymous, client, make_user, post, payload, count):
    before = count()
    response = post(anonymous, payload(visibility="internal"))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert list(response.json()["errors"]) == ["visibility"]
    client.force_login(make_user("commenter"))
    assert post(client, payload(visibility="internal")).status_code == 403
    assert count() == before


def test_a_cross_site_browser_post_is_refused(anonymous, post, payload, count):
    before = count()
    response = post(anonymous, payload(), HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert response.json()["code"] == "cross_origin"
    assert count() == before
    assert post(anonymous, payload(), HTTP_ORIGIN="http://testserver").status_code == 201
