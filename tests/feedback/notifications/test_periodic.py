"""The beat tasks, run directly: the reviewers' daily digest (one message per reviewer per
day, keyed on one ledger event per run) and reminders about items waiting past the ageing
limit (to the assignee, else to triagers; each item at most once per ageing period)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback import tasks
from feedback.models import FeedbackItem, Unsubscribe, Visibility
from feedback.notifications import digest_send, reminders_send
from feedback.transitions import decision_record, feedback_transition, item_assign
from modelspec_site.audit.models import Event
from modelspec_site.outbox.models import OutboxMessage

from .conftest import last_id, recipients, rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(staff):
    return {
        "triager": staff("triager"),
        "t2": staff("triager", username="t2"),
        "r1": staff("reviewer", username="r1"),
        "r2": staff("reviewer", username="r2"),
        "r3": staff("reviewer", username="r3"),
        "editor": staff("editor"),
    }


def in_review(file_item, team, **fields):
    item = file_item(**fields)
    feedback_transition(acting_user=team["triager"], item=item, action="triage")
    return feedback_transition(acting_user=team["triager"], item=item, action="start_review")


def test_the_digest_goes_once_a_day_to_each_reviewer(file_item, team):
    waiting = in_review(file_item, team, submitter_email="anon@example.org", summary="Waiting one")
    internal = in_review(file_item, team, user=team["editor"], visibility=Visibility.INTERNAL,
                         summary="Internal waiting")  # fmt: skip
    decision_record(acting_user=team["r2"], item=waiting, position="accept", rationale="Yes")
    item_assign(acting_user=team["triager"], item=internal, assignee=team["r2"])
    Unsubscribe.objects.create(email="r3@example.org", scope="digest")
    start = last_id()

    assert digest_send() == 2
    got = rows("digest", after=start)
    assert sorted(got) == ["r1@example.org", "r2@example.org"]  # r3 unsubscribed; no triagers
    r1, r2 = got["r1@example.org"].body_text, got["r2@example.org"].body_text
    assert "Waiting for your position: 2 items" in r1
    assert waiting.tracking_number in r1 and internal.tracking_number in r1
    # r2 took a position on `waiting`; the internal item is assigned to r2.
    assert "Waiting for your position: 1 item" in r2
    assert "Assigned to you: 1 item" in r2 and "Internal waiting" in r2
    assert "New in the last day: 2." in r1
    assert got["r1@example.org"].subject.startswith("Review digest for ")
    assert "daily digests and reminders" in got["r1@example.org"].body_text
    [event] = Event.objects.filter(action="notifications.digest_sent")
    assert (event.actor_kind, event.visibility) == ("system", "internal")
    assert {m.event_seq for m in got.values()} == {event.seq}

    # A second run the same day (the beat task, as beat would run it) sends nothing.
    assert tasks.send_reviewer_digest() == 0
    assert OutboxMessage.objects.filter(kind="feedback.digest").count() == 2
    assert Event.objects.filter(action="notifications.digest_sent").count() == 1

    # The next day, again one each.
    assert digest_send(now=timezone.now() + timedelta(days=1)) == 2
    assert OutboxMessage.objects.filter(kind="feedback.digest").count() == 4


def test_no_digest_when_there_is_nothing_to_read(team):
    FeedbackItem.objects.all().delete()
    assert digest_send() == 0
    assert not Event.objects.filter(action="notifications.digest_sent").exists()


def age(item, days):
    FeedbackItem.objects.filter(pk=item.pk).update(
        state_changed_at=timezone.now() - timedelta(days=days)
    )


def test_reminders_go_to_the_assignee_or_the_triagers_once_per_period(file_item, team, settings):
    settings.FEEDBACK_AGEING_DAYS = 14
    mine = file_item(summary="Assigned and old")
    item_assign(acting_user=team["triager"], item=mine, assignee=team["r1"])
    loose = file_item(summary="Unassigned and old")
    fresh = file_item(summary="Fresh")
    asked = file_item(summary="Waiting for its submitter")
    feedback_transition(acting_user=team["triager"], item=asked, action="request_info",
                        message="Which?")  # fmt: skip
    for item in (mine, loose, asked):
        age(item, 15)
    age(fresh, 3)
    start = last_id()

    assert reminders_send() == 3
    got = rows("reminder", after=start)
    assert sorted(got) == ["r1@example.org", "t2@example.org", "triager@example.org"]
    assert mine.tracking_number in got["r1@example.org"].body_text
    assert loose.tracking_number not in got["r1@example.org"].body_text
    for triager in ("t2@example.org", "triager@example.org"):
        body = got[triager].body_text
        assert loose.tracking_number in body and "not assigned" in body
        assert mine.tracking_number not in body
    for message in got.values():
        assert fresh.tracking_number not in message.body_text
        assert asked.tracking_number not in message.body_text  # needs_info waits on the submitter
    assert got["r1@example.org"].subject == "Reminder: 1 feedback item is waiting"

    # Again the same day, or a week on: nothing (once per ageing period).
    assert tasks.send_ageing_reminders() == 0
    assert reminders_send(now=timezone.now() + timedelta(days=7)) == 0
    assert recipients("reminder", after=start) == sorted(got)
    # A period later, still waiting: reminded again.
    assert reminders_send(now=timezone.now() + timedelta(days=15)) == 3
    assert OutboxMessage.objects.filter(kind="feedback.reminder").count() == 6


def test_a_state_change_restarts_the_clock(file_item, team):
    item = file_item()
    age(item, 20)
    assert reminders_send() == 2  # both triagers
    feedback_transition(acting_user=team["triager"], item=item, action="triage")
    # Ten days in its new state: not aged, whatever the old state's wait was.
    assert reminders_send(now=timezone.now() + timedelta(days=10)) == 0
    assert reminders_send(now=timezone.now() + timedelta(days=15)) == 2
