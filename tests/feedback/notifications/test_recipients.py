"""Who hears what: for each kind of event, the right addresses get exactly one outbox row and
the wrong ones none (internal items, internal notes, unsubscribed, not following)."""

import pytest
from django.utils import translation

from feedback import notifications
from feedback.models import FeedbackItem, Subscription, Unsubscribe, Visibility
from feedback.transitions import (
    feedback_transition,
    item_assign,
    note_add,
    subscription_add,
)
from modelspec_site.audit.models import Event
from modelspec_site.outbox.models import OutboxMessage

from .conftest import first_anchor, last_id, recipients, rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(file_item, staff, make_user, version):
    """A public item filed anonymously, with followers of the item, its clause and its spec,
    a follower of another clause, a bystander, and a triager who follows the spec."""
    item = file_item(submitter_email="anon@example.org")
    other = file_item(submitter_email="other@example.org", clause=first_anchor(version, skip=1))
    triager = staff("triager")
    fans = {name: make_user(name) for name in ("itemfan", "specfan", "otherfan", "bystander")}
    subscription_add(item=item, user=fans["itemfan"])
    subscription_add(clause=item.clause, email="clausefan@example.org")
    subscription_add(spec=item.spec, user=fans["specfan"])
    subscription_add(clause=other.clause, user=fans["otherfan"])
    subscription_add(spec=item.spec, user=triager)
    return {"item": item, "other": other, "triager": triager, **fans}


FOLLOWERS = ["clausefan@example.org", "itemfan@example.org", "specfan@example.org"]


def test_a_public_state_change_reaches_the_submitter_and_followers_once(world):
    start = last_id()
    item = feedback_transition(acting_user=world["triager"], item=world["item"], action="triage")

    assert recipients("transition", after=start) == sorted(["anon@example.org", *FOLLOWERS])
    # Not the actor (who follows the spec), not the other clause's follower, not a bystander.
    got = rows(after=start)
    assert "triager@example.org" not in got
    assert "otherfan@example.org" not in got and "bystander@example.org" not in got
    event = Event.objects.get(action="feedback.triaged")
    assert {m.event_seq for m in got.values()} == {event.seq}
    message = got["anon@example.org"]
    assert message.subject == f"[{item.tracking_number}] Triaged"
    assert "Its state is now: Triaged." in message.body_text
    # The anonymous submitter's own words are not echoed to their unverified address; a
    # follower (who chose to follow) sees the summary.
    assert item.summary not in message.body_text + message.body_html
    assert item.summary in got["itemfan@example.org"].body_text
    assert "your feedback" in message.body_text
    assert "which you follow" in got["specfan@example.org"].body_text


def test_the_same_event_never_queues_twice(world):
    feedback_transition(acting_user=world["triager"], item=world["item"], action="triage")
    event = Event.objects.get(action="feedback.triaged")
    count = OutboxMessage.objects.count()
    item = FeedbackItem.objects.get(pk=world["item"].pk)
    from django.db import transaction

    with transaction.atomic():
        notifications.notify("transition", item=item, event=event, action="triage", note=None)
    assert OutboxMessage.objects.count() == count


def test_an_account_submitter_gets_the_summary(file_item, make_user, staff):
    author = make_user("author")
    item = file_item(user=author)
    start = last_id()
    feedback_transition(acting_user=staff("triager"), item=item, action="triage")
    [message] = rows("transition", after=start).values()
    assert message.recipient == "author@example.org"
    assert item.summary in message.body_text and item.summary in message.body_html


def test_internal_items_tell_nobody_but_assigned_and_mentioned_staff(file_item, staff, make_user):
    insider = staff("triager", username="insider")
    item = file_item(user=insider, visibility=Visibility.INTERNAL, summary="Internal words")
    fan = make_user("fan")
    subscription_add(item=item, user=fan)
    subscription_add(spec=item.spec, email="specwatch@example.org")
    reviewer = staff("reviewer")
    start = last_id()
    feedback_transition(acting_user=reviewer, item=item, action="triage")
    note_add(acting_user=reviewer, item=item, body="Status looks fine")
    assert rows(after=start) == {}

    item_assign(acting_user=reviewer, item=item, assignee=insider)
    note_add(acting_user=reviewer, item=item, body="@insider please look")
    got = rows(after=start)
    assert sorted(got) == ["insider@example.org"]
    assert sorted(OutboxMessage.objects.filter(pk__gt=start).values_list("kind", flat=True)) == [
        "feedback.assigned",
        "feedback.mentioned",
    ]


def test_internal_notes_reach_no_follower_and_mentions_reach_staff(world, staff):
    reviewer = staff("reviewer")
    start = last_id()
    note = note_add(
        acting_user=reviewer,
        item=world["item"],
        body="Internal: @triager can you check the clause history?",
    )
    got = rows(after=start)
    assert list(got) == ["triager@example.org"]
    message = got["triager@example.org"]
    assert message.kind == "feedback.mentioned"
    assert note.body in message.body_text
    assert message.subject == f"You were mentioned on {world['item'].tracking_number}"


def test_a_public_reply_reaches_submitter_and_followers(world, staff):
    reviewer = staff("reviewer")
    start = last_id()
    note_add(acting_user=reviewer, item=world["item"], body="Thanks, we are looking.", public=True)
    got = rows("public_reply", after=start)
    assert sorted(got) == sorted(["anon@example.org", "triager@example.org", *FOLLOWERS])
    for message in got.values():
        assert "Thanks, we are looking." in message.body_text
        assert "Thanks, we are looking." in message.body_html
        assert message.subject == f"[{world['item'].tracking_number}] New reply"


def test_unsubscribed_addresses_get_nothing_in_that_scope(world):
    item = world["item"]
    Unsubscribe.objects.create(email="itemfan@example.org", scope=f"item:{item.pk}")
    Unsubscribe.objects.create(email="clausefan@example.org", scope="all")
    # A clause-level unsubscribe stops a clause/spec follower, not the submitter's own mail.
    Unsubscribe.objects.create(email="specfan@example.org", scope=f"clause:{item.clause_id}")
    Unsubscribe.objects.create(email="anon@example.org", scope=f"clause:{item.clause_id}")
    start = last_id()
    feedback_transition(acting_user=world["triager"], item=item, action="triage")
    assert recipients(after=start) == ["anon@example.org"]

    Unsubscribe.objects.create(email="anon@example.org", scope=f"item:{item.pk}")
    start = last_id()
    feedback_transition(acting_user=world["triager"], item=item, action="start_review")
    assert recipients(after=start) == []


def test_the_submitters_own_moves_are_not_sent_back_to_them(world):
    item = world["item"]
    start = last_id()
    feedback_transition(
        acting_user=world["triager"], item=item, action="request_info", message="Which example?"
    )
    asked = rows("transition", after=start)
    assert "Which example?" in asked["anon@example.org"].body_text
    assert "Answer through your account" in asked["anon@example.org"].body_text
    from django.contrib.auth.models import AnonymousUser

    start = last_id()
    feedback_transition(
        acting_user=AnonymousUser(),
        item=item,
        action="provide_info",
        message="Submitter's private-ish answer",
        follow_token_ok=True,
    )
    got = rows("transition", after=start)
    assert sorted(got) == sorted(["triager@example.org", *FOLLOWERS])
    for message in got.values():  # the submitter's own words are not relayed by e-mail
        assert "Submitter's private-ish answer" not in message.body_text

    start = last_id()
    feedback_transition(
        acting_user=AnonymousUser(), item=item, action="withdraw", follow_token_ok=True
    )
    assert "anon@example.org" not in rows(after=start)
    assert set(FOLLOWERS) <= set(rows(after=start))


def test_a_duplicate_names_its_original_and_reaches_the_followers_it_moved(
    world, file_item, make_user
):
    original = world["other"]
    item = world["item"]
    start = last_id()
    feedback_transition(
        acting_user=world["triager"],
        item=item,
        action="mark_duplicate",
        duplicate_of=original,
        rationale="Same question as the original.",
    )
    got = rows("transition", after=start)
    # The item's follower now follows the original, and still hears about the merge.
    assert Subscription.objects.filter(item=original, user=world["itemfan"]).exists()
    assert sorted(got) == sorted(["anon@example.org", *FOLLOWERS])
    message = got["anon@example.org"]
    assert message.subject == (f"[{item.tracking_number}] Duplicate of {original.tracking_number}")
    assert original.tracking_number in message.body_text
    assert original.tracking_number in message.body_html
    assert "Same question as the original." in message.body_text


def test_spam_is_not_news_for_clause_and_spec_followers(world):
    start = last_id()
    feedback_transition(acting_user=world["triager"], item=world["item"], action="mark_spam")
    assert recipients(after=start) == ["anon@example.org", "itemfan@example.org"]


def test_a_hidden_item_is_named_by_number_only(world, staff):
    from feedback.services import feedback_hide

    item = world["item"]
    feedback_hide(acting_user=staff("moderator"), item=item, reason="Off-topic")
    start = last_id()
    feedback_transition(acting_user=world["triager"], item=item, action="triage")
    for message in rows(after=start).values():
        assert item.summary not in message.body_text + message.body_html
        assert item.tracking_number in message.body_text


def test_assignment_tells_the_assignee_not_the_assigner(file_item, staff):
    item = file_item(submitter_email="anon@example.org")
    triager, reviewer = staff("triager"), staff("reviewer")
    start = last_id()
    item_assign(acting_user=triager, item=item, assignee=triager)  # to oneself: no mail
    assert rows(after=start) == {}
    item_assign(acting_user=triager, item=item, assignee=reviewer)
    [message] = rows("assigned", after=start).values()
    assert message.recipient == "reviewer@example.org"
    assert message.subject == f"Assigned to you: {item.tracking_number}"
    assert "triager assigned feedback" in message.body_text
    # Assignment is internal: the submitter hears nothing.
    assert "anon@example.org" not in rows(after=start)


def test_messages_use_the_language_the_submitter_wrote_in(file_item, staff):
    with translation.override("fr"):
        item = file_item(submitter_email="francais@example.org")
    receipt = OutboxMessage.objects.get(kind="feedback.receipt", recipient="francais@example.org")
    assert receipt.headers["Content-Language"] == "fr"
    start = last_id()
    feedback_transition(acting_user=staff("triager"), item=item, action="triage")
    [message] = rows("transition", after=start).values()
    assert message.headers["Content-Language"] == "fr"
    assert '<html lang="fr">' in message.body_html
    # Everyone else gets the site's language.
    other = file_item(submitter_email="english@example.org")
    start = last_id()
    feedback_transition(acting_user=staff("triager", username="t2"), item=other, action="triage")
    assert rows(after=start)["english@example.org"].headers["Content-Language"] == "en"
