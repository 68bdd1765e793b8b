"""Submission receipts: `feedback_submit` queues exactly one through the outbox, in its own
transaction, when there is an address to send it to; the follow token never goes in it."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.urls import NoReverseMatch

from feedback.notifications import RECEIPT_KIND, item_public_url
from feedback.services import feedback_submit
from modelspec_site.audit.models import Event
from modelspec_site.outbox.models import OutboxMessage, Status
from modelspec_site.outbox.services import Outcome, outbox_deliver

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


def expected_url(item, site_url="http://127.0.0.1:8000"):
    try:
        path = item.get_absolute_url()
    except NoReverseMatch:  # the item page belongs to another change set
        path = f"/feedback/{item.tracking_number}/"
    return site_url + path


def submit(make_submission, user=None, **fields):
    return feedback_submit(
        acting_user=user or AnonymousUser(), submission=make_submission(**fields)
    )


def assert_token_absent(message, token):
    stored = [message.subject, message.body_text, message.body_html, str(message.headers)]
    assert not any(token in text for text in stored)


def test_anonymous_submitter_with_an_email_gets_one_receipt(
    make_submission, django_capture_on_commit_callbacks, queued
):
    with django_capture_on_commit_callbacks(execute=True):
        result = submit(make_submission, submitter_email="Someone@Example.ORG")
    item = result.item

    message = OutboxMessage.objects.get()
    event = Event.objects.get(seq=message.event_seq)
    assert event.action == "feedback.submitted"
    assert event.data["tracking_number"] == item.tracking_number
    assert (message.kind, message.recipient, message.status) == (
        RECEIPT_KIND,
        "Someone@example.org",
        Status.PENDING,
    )
    assert message.subject == f"Feedback received: {item.tracking_number}"
    assert message.headers["Auto-Submitted"] == "auto-generated"
    for body in (message.body_text, message.body_html):
        assert item.tracking_number in body
        # Not echoed to an unverified address (no relay for arbitrary text).
        assert item.summary not in body
        assert expected_url(item) in body
        assert "private link to follow this item was shown once" in body
    assert_token_absent(message, result.follow_token)
    assert queued == [message.pk]  # its delivery was queued once, after the commit

    # Delivered, it is the one e-mail the submitter gets.
    assert outbox_deliver(message_id=message.pk) == Outcome.SENT
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["Someone@example.org"]
    assert result.follow_token not in mail.outbox[0].message().as_string()


def test_the_html_body_escapes_what_the_submitter_wrote(make_submission, queued, make_user):
    submit(make_submission, summary=HOSTILE, user=make_user("erin"))
    message = OutboxMessage.objects.get()
    assert "<script>" not in message.body_html
    assert "<b>" not in message.body_html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in message.body_html
    # Plain text is not HTML: the words are kept as written, not entity-encoded.
    assert HOSTILE in message.body_text
    assert "&lt;" not in message.body_text


def test_an_account_holder_gets_the_receipt_at_the_account_address(make_submission, make_user):
    user = make_user("carol")
    result = submit(make_submission, user=user)
    message = OutboxMessage.objects.get()
    assert message.recipient == "carol@example.org"
    assert result.item.summary in message.body_text
    assert message.subject == f"Feedback received: {result.item.tracking_number}"
    assert_token_absent(message, result.follow_token)


def test_no_address_means_no_receipt(make_submission, make_user):
    submit(make_submission)  # anonymous, no e-mail
    user = make_user("dave")
    user.email = ""
    user.save()
    submit(make_submission, user=user)
    assert OutboxMessage.objects.count() == 0
    assert Event.objects.filter(action="feedback.submitted").count() >= 2


def test_an_invalid_address_costs_the_receipt_not_the_feedback(make_submission, caplog):
    result = submit(make_submission, submitter_email="not-an-address")
    assert result.item.pk is not None
    assert OutboxMessage.objects.count() == 0
    assert "no receipt" in caplog.text


def test_staff_filing_internal_feedback_get_a_receipt_saying_so(make_submission, make_user):
    staffer = make_user("sam", roles=["triager"], is_staff=True)
    result = submit(make_submission, user=staffer, visibility="internal")
    message = OutboxMessage.objects.get()
    assert message.recipient == "sam@example.org"
    assert "only staff can see it" in message.body_text
    assert result.item.tracking_number in message.subject


def test_site_url_setting_prefixes_the_item_link(make_submission, settings):
    settings.SITE_URL = "https://tracker.example.org/"
    result = submit(make_submission, submitter_email="a@example.org")
    url = item_public_url(result.item)
    assert url == expected_url(result.item, "https://tracker.example.org")
    assert url in OutboxMessage.objects.get().body_text


def test_each_submission_has_its_own_receipt(make_submission):
    first = submit(make_submission, submitter_email="a@example.org")
    second = submit(make_submission, submitter_email="a@example.org")
    subjects = set(OutboxMessage.objects.values_list("subject", flat=True))
    assert subjects == {
        f"Feedback received: {first.item.tracking_number}",
        f"Feedback received: {second.item.tracking_number}",
    }
