"""Scheduled publication of internal material: an internal item or note becomes public on a date
(the beat task) or with a version's release (the `version_published` signal); cancelling;
who may; the ledger events; idempotent re-runs; the item then on the public pages and API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from feedback import tasks
from feedback.errors import FeedbackError, NotAllowed
from feedback.models import FeedbackItem, Note, ScheduledPublication, Visibility
from feedback.scheduling import (
    ScheduleConflict,
    publication_cancel,
    publication_run_due,
    publication_schedule,
)
from feedback.services import Submission, feedback_submit
from feedback.transitions import note_add
from modelspec_site.audit.models import Event
from revisions.models import Version
from revisions.services import version_import, version_publish
from tests.conftest import sign_in_two_factor

pytestmark = pytest.mark.django_db

LABEL = "2025-09-12"
CLAUSE = "letter_and_spirit"
SECRET = "Scheduled canary words"


@pytest.fixture
def version():
    return Version.objects.select_related("spec").get(spec__slug="model-spec", label=LABEL)


@pytest.fixture
def people(make_user):
    return {
        role: make_user(role, roles=[role], is_staff=True)
        for role in ("triager", "reviewer", "editor", "moderator", "auditor")
    }


@pytest.fixture
def internal_item(version, people):
    submission = Submission(
        version=version, clause_id=CLAUSE, kind="unclear", summary=f"{SECRET} item",
        body="Internal details.", visibility=Visibility.INTERNAL,
    )  # fmt: skip
    return feedback_submit(acting_user=people["triager"], submission=submission).item


@pytest.fixture
def public_item(version):
    submission = Submission(version=version, clause_id=CLAUSE, kind="unclear", summary="Public")
    return feedback_submit(acting_user=AnonymousUser(), submission=submission).item


@pytest.fixture
def draft(version, bundled_source):
    return version_import(spec=version.spec, label="2031-06-01", data=bundled_source(LABEL)).version


def _soon(minutes=30):
    return timezone.now() + dt.timedelta(minutes=minutes)


def _events(action):
    return list(Event.objects.filter(action=action).order_by("seq"))


def _publicly_visible(item) -> bool:
    client = Client()
    page = client.get(f"/feedback/{item.tracking_number}/")
    api = client.get(f"/api/v1/feedback/{item.tracking_number}/")
    listed = item.tracking_number in client.get("/api/v1/feedback/?page_size=100").content.decode()
    assert (page.status_code == 200) == (api.status_code == 200) == listed
    return page.status_code == 200


# --- By date --------------------------------------------------------------------------------


def test_an_item_scheduled_for_a_date_becomes_public_when_the_task_runs(internal_item, people):
    at = _soon()
    schedule = publication_schedule(
        acting_user=people["reviewer"], item=internal_item, publish_at=at
    )
    [scheduled] = _events("feedback.publication_scheduled")
    assert scheduled.visibility == "internal"
    assert scheduled.actor_id == people["reviewer"].pk
    assert scheduled.data["publish_at"] == at.isoformat()
    assert not _publicly_visible(internal_item)

    assert publication_run_due(at - dt.timedelta(seconds=1)) == 0  # not yet
    assert FeedbackItem.objects.get(pk=internal_item.pk).visibility == Visibility.INTERNAL
    assert publication_run_due(at + dt.timedelta(seconds=1)) == 1

    item = FeedbackItem.objects.get(pk=internal_item.pk)
    assert item.visibility == Visibility.PUBLIC
    assert item.tracking_number == internal_item.tracking_number  # kept (see scheduling.py)
    [published] = _events("feedback.published_from_internal")
    assert published.visibility == "public"
    assert published.actor_id == people["reviewer"].pk  # who scheduled it
    assert published.data == {
        "tracking_number": item.tracking_number,
        "scheduled_at": schedule.created_at.isoformat(),
        "trigger": "date",
        "publish_at": at.isoformat(),
        "with_version": None,
    }
    schedule.refresh_from_db()
    assert schedule.done_at is not None and schedule.cancelled_at is None
    assert _publicly_visible(item)
    assert SECRET in Client().get(f"/feedback/{item.tracking_number}/").content.decode()


def test_running_again_changes_nothing(internal_item, people):
    at = _soon()
    publication_schedule(acting_user=people["editor"], item=internal_item, publish_at=at)
    later = at + dt.timedelta(minutes=5)
    assert publication_run_due(later) == 1
    before = Event.objects.count()
    assert publication_run_due(later) == 0
    assert publication_run_due(later + dt.timedelta(days=1)) == 0
    assert Event.objects.count() == before


def test_the_beat_task_runs_what_is_due(internal_item, people):
    schedule = publication_schedule(
        acting_user=people["reviewer"], item=internal_item, publish_at=_soon(1)
    )
    ScheduledPublication.objects.filter(pk=schedule.pk).update(
        publish_at=timezone.now() - dt.timedelta(seconds=5)
    )
    assert tasks.publish_scheduled() == 1
    assert FeedbackItem.objects.get(pk=internal_item.pk).visibility == Visibility.PUBLIC
    assert tasks.publish_scheduled() == 0


# --- With a version -------------------------------------------------------------------------


def test_an_item_and_a_note_scheduled_with_a_version_become_public_when_it_is_published(
    internal_item, people, draft
):
    note = note_add(acting_user=people["triager"], item=internal_item, body="Why we hold it.")
    publication_schedule(acting_user=people["reviewer"], item=internal_item, with_version=draft)
    # The note is scheduled first, but waits for its item within the same release.
    publication_schedule(acting_user=people["reviewer"], note=note, with_version=draft)
    assert publication_run_due(_soon(60 * 24 * 365)) == 0  # not by date: by release
    assert FeedbackItem.objects.get(pk=internal_item.pk).visibility == Visibility.INTERNAL

    version_publish(version=draft, acting_user=people["editor"])

    assert FeedbackItem.objects.get(pk=internal_item.pk).visibility == Visibility.PUBLIC
    assert Note.objects.get(pk=note.pk).kind == Note.Kind.PUBLIC_REPLY
    [item_event] = _events("feedback.published_from_internal")
    [note_event] = _events("feedback.note_published")
    assert item_event.seq < note_event.seq
    assert item_event.data["trigger"] == note_event.data["trigger"] == "version"
    assert item_event.data["with_version"] == draft.label
    assert note_event.visibility == "public" and note_event.data["note"] == note.pk
    assert not ScheduledPublication.objects.filter(done_at__isnull=True).exists()
    page = Client().get(f"/feedback/{internal_item.tracking_number}/").content.decode()
    assert "Why we hold it." in page


def test_a_note_on_a_public_item_is_published_as_a_reply(public_item, people):
    note = note_add(acting_user=people["triager"], item=public_item, body="Held back reply.")
    page = Client().get(f"/feedback/{public_item.tracking_number}/").content.decode()
    assert "Held back reply." not in page
    at = _soon()
    publication_schedule(acting_user=people["reviewer"], note=note, publish_at=at)
    assert publication_run_due(at) == 1
    assert Note.objects.get(pk=note.pk).kind == Note.Kind.PUBLIC_REPLY
    page = Client().get(f"/feedback/{public_item.tracking_number}/").content.decode()
    assert "Held back reply." in page


def test_a_note_on_an_item_still_internal_waits_for_it(internal_item, people):
    note = note_add(acting_user=people["triager"], item=internal_item, body="Wait for me.")
    at = _soon()
    schedule = publication_schedule(acting_user=people["reviewer"], note=note, publish_at=at)
    assert publication_run_due(at) == 0
    schedule.refresh_from_db()
    assert schedule.done_at is None
    assert Note.objects.get(pk=note.pk).kind == Note.Kind.INTERNAL
    # Once the item is public, the next run publishes the note.
    publication_schedule(acting_user=people["reviewer"], item=internal_item, publish_at=_soon(40))
    assert publication_run_due(_soon(50)) == 2
    assert Note.objects.get(pk=note.pk).kind == Note.Kind.PUBLIC_REPLY


# --- Cancelling -----------------------------------------------------------------------------


def test_a_cancelled_publication_never_happens(internal_item, people):
    at = _soon()
    schedule = publication_schedule(
        acting_user=people["reviewer"], item=internal_item, publish_at=at
    )
    publication_cancel(acting_user=people["editor"], schedule=schedule)
    [cancelled] = _events("feedback.publication_cancelled")
    assert cancelled.visibility == "internal" and cancelled.actor_id == people["editor"].pk
    assert publication_run_due(at + dt.timedelta(hours=1)) == 0
    assert FeedbackItem.objects.get(pk=internal_item.pk).visibility == Visibility.INTERNAL
    with pytest.raises(ScheduleConflict):
        publication_cancel(acting_user=people["editor"], schedule=schedule)
    # Cancelled, it can be scheduled again.
    publication_schedule(acting_user=people["reviewer"], item=internal_item, publish_at=at)


def test_a_done_publication_cannot_be_cancelled(internal_item, people):
    at = _soon()
    schedule = publication_schedule(
        acting_user=people["reviewer"], item=internal_item, publish_at=at
    )
    publication_run_due(at)
    with pytest.raises(ScheduleConflict):
        publication_cancel(acting_user=people["reviewer"], schedule=schedule)


# --- Who may, and what is refused -----------------------------------------------------------


@pytest.mark.parametrize("role", ["triager", "moderator", "auditor"])
def test_only_reviewers_and_editors_schedule(internal_item, people, role):
    with pytest.raises(NotAllowed):
        publication_schedule(acting_user=people[role], item=internal_item, publish_at=_soon())
    schedule = publication_schedule(
        acting_user=people["reviewer"], item=internal_item, publish_at=_soon()
    )
    with pytest.raises(NotAllowed):
        publication_cancel(acting_user=people[role], schedule=schedule)
    assert not _events("feedback.publication_cancelled")


def test_refusals(internal_item, public_item, people, draft, version):
    reviewer = people["reviewer"]
    cases = [
        (dict(item=internal_item, publish_at=timezone.now() - dt.timedelta(minutes=1)),
         FeedbackError, "publish_at"),
        (dict(item=internal_item), FeedbackError, "publish_at"),
        (dict(item=internal_item, publish_at=_soon(), with_version=draft), FeedbackError,
         "publish_at"),
        (dict(publish_at=_soon()), FeedbackError, "subject"),
        (dict(item=internal_item, with_version=version), FeedbackError, "with_version"),
        (dict(item=public_item, publish_at=_soon()), ScheduleConflict, None),
    ]  # fmt: skip
    for kwargs, error, field in cases:
        with pytest.raises(error) as caught:
            publication_schedule(acting_user=reviewer, **kwargs)
        assert caught.value.field == field
    publication_schedule(acting_user=reviewer, item=internal_item, publish_at=_soon())
    with pytest.raises(ScheduleConflict):
        publication_schedule(acting_user=reviewer, item=internal_item, publish_at=_soon(90))
    reply = note_add(acting_user=reviewer, item=public_item, body="Public already", public=True)
    with pytest.raises(ScheduleConflict):
        publication_schedule(acting_user=reviewer, note=reply, publish_at=_soon())
    assert ScheduledPublication.objects.count() == 1


# --- The staff page -------------------------------------------------------------------------


def _page(item):
    return f"/staff/items/{item.tracking_number}/"


def test_the_staff_item_page_schedules_and_cancels_without_javascript(internal_item, people):
    client = sign_in_two_factor(Client(), people["reviewer"])
    page = client.get(_page(internal_item)).content.decode()
    assert 'id="publication-form"' in page and "Schedule publication" in page
    response = client.post(
        _page(internal_item) + "publication/schedule/",
        {"subject": "item", "publish_at": (timezone.now() + dt.timedelta(days=2)).strftime(
            "%Y-%m-%dT%H:%M"), "with_version": ""},
    )  # fmt: skip
    assert response.status_code == 303
    assert response["Location"].endswith(f"{_page(internal_item)}#publication")
    schedule = ScheduledPublication.objects.get(item=internal_item)
    page = client.get(_page(internal_item)).content.decode()
    assert 'id="publication-pending"' in page
    response = client.post(_page(internal_item) + f"publication/{schedule.pk}/cancel/")
    assert response.status_code == 303
    schedule.refresh_from_db()
    assert schedule.cancelled_at is not None


def test_the_form_explains_bad_input(internal_item, people, draft):
    client = sign_in_two_factor(Client(), people["editor"])
    url = _page(internal_item) + "publication/schedule/"
    both = client.post(url, {"subject": "item", "publish_at": "2099-01-01T10:00",
                             "with_version": draft.label})  # fmt: skip
    assert both.status_code == 400 and "not both" in both.content.decode()
    past = client.post(url, {"subject": "item", "publish_at": "2001-01-01T10:00"})
    assert past.status_code == 400 and "future" in past.content.decode()
    unknown = client.post(url, {"subject": "note-999999", "publish_at": "2099-01-01T10:00"})
    assert unknown.status_code == 400
    ok = client.post(url, {"subject": "item", "with_version": draft.label})
    assert ok.status_code == 303
    again = client.post(url, {"subject": "item", "publish_at": "2099-01-01T10:00"})
    assert again.status_code == 400  # the item is no longer among the choices
    assert ScheduledPublication.objects.filter(item=internal_item).count() == 1
    assert client.get(_page(internal_item) + "publication/").status_code == 200


def test_the_forms_refuse_roles_that_may_not(internal_item, people, make_user):
    schedule = publication_schedule(
        acting_user=people["reviewer"], item=internal_item, publish_at=_soon()
    )
    triager = sign_in_two_factor(Client(), people["triager"])
    body = {"subject": "item", "publish_at": "2099-01-01T10:00"}
    assert triager.post(_page(internal_item) + "publication/schedule/", body).status_code == 403
    cancel = _page(internal_item) + f"publication/{schedule.pk}/cancel/"
    assert triager.post(cancel).status_code == 403
    member = Client()
    member.force_login(make_user("member"))
    assert member.post(cancel).status_code == 404
    anonymous = Client().post(cancel)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert ScheduledPublication.objects.get(pk=schedule.pk).cancelled_at is None
    reviewer = sign_in_two_factor(Client(), people["reviewer"])
    assert reviewer.post(_page(internal_item) + "publication/999999/cancel/").status_code == 404
