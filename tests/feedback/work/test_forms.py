"""Each form of the staff item page, with good and bad input: the change goes through the
service (state, ledger event), errors are shown next to the field they concern with the right
status, and a stale form gets the 409 message and changes nothing."""

from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from feedback.models import (
    Decision,
    Endorsement,
    FeedbackItem,
    Note,
    PreparedDecision,
    State,
    Subscription,
    Transition,
)
from feedback.services import feedback_endorse
from feedback.transitions import decision_record, label_create
from modelspec_site.audit.models import Event

from .conftest import main_of, page_url

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def set_state(item, state):
    FeedbackItem.objects.filter(pk=item.pk).update(state=state)
    item.refresh_from_db()


def errors_of(html: str, field_id: str) -> str:
    """The error list Django draws for the field with this id (empty when none)."""
    marker = f'id="{field_id}_error"'
    if marker not in html:
        return ""
    return html.split(marker, 1)[1].split("</ul>", 1)[0]


def move(client, item, action, expected=None, **fields):
    data = {"action": action, f"{action}-expected_state": expected or item.state}
    data.update({f"{action}-{name}": value for name, value in fields.items()})
    return client.post(page_url(item) + "transition/", data)


# --- Transitions -------------------------------------------------------------------------------


def test_a_move_without_fields_redirects_and_records_one_event(file_item, as_staff):
    item = file_item()
    _user, client = as_staff("triager")
    response = move(client, item, "triage")
    assert response.status_code == 303 and response["Location"] == page_url(item)
    item.refresh_from_db()
    assert item.state == State.TRIAGED
    assert Event.objects.filter(action="feedback.triaged").count() == 1
    assert "The item is now “Triaged”" in client.get(page_url(item)).content.decode()


def test_a_missing_or_oversize_rationale_is_shown_next_to_its_field(file_item, as_staff):
    item = file_item()
    _user, client = as_staff("triager")
    response = move(client, item, "decline", rationale="   ")
    assert response.status_code == 400
    html = main_of(response)
    assert "This field is required." in errors_of(html, "id_decline-rationale")
    assert 'role="alert"' in html
    response = move(client, item, "decline", rationale="x" * 5001)
    assert response.status_code == 400
    assert "at most 5000 characters" in errors_of(main_of(response), "id_decline-rationale")
    item.refresh_from_db()
    assert item.state == State.RECEIVED and not Transition.objects.exists()


def test_a_stale_form_gets_the_409_message_and_changes_nothing(file_item, as_staff):
    item = file_item()
    _t, first = as_staff("triager", username="first")
    _u, second = as_staff("triager", username="second")
    # Both drew the page while the item was received; the first one triages.
    assert move(first, item, "triage", expected="received").status_code == 303
    events = Event.objects.count()
    response = move(second, item, "decline", expected="received", rationale="Out of scope")
    assert response.status_code == 409
    html = main_of(response)
    assert "someone else acted on it first" in html and 'role="alert"' in html
    # The page shows the item as it is now, with the buttons of its new state.
    assert 'id="item-state">Triaged<' in html and 'id="action-start_review"' in html
    item.refresh_from_db()
    assert item.state == State.TRIAGED and item.resolution == ""
    assert Event.objects.count() == events and Transition.objects.count() == 1


def test_an_unknown_or_forged_action_is_refused(file_item, as_staff):
    item = file_item()
    _user, client = as_staff("triager")
    response = client.post(page_url(item) + "transition/", {"action": "explode"})
    assert response.status_code == 400 and "There is no such action." in main_of(response)
    # An action that is not the triager's (accepting) is a 403, not a change.
    set_state(item, State.IN_REVIEW)
    response = move(client, item, "accept", rationale="Yes")
    assert response.status_code == 403
    assert "You may not take this action on this item." in main_of(response)
    response = client.post(page_url(item) + "transition/", {"action": "triage"})
    assert response.status_code == 400  # no expected_state
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW


def test_accepting_before_the_approval_rule_is_met_is_a_clear_409(file_item, as_staff):
    item = file_item(rank=0)
    set_state(item, State.IN_REVIEW)
    r1, client = as_staff("reviewer", username="r1")
    decision_record(acting_user=r1, item=item, position="accept", rationale="Good")
    html = main_of(client.get(page_url(item)))
    assert "1 of 2 accepts" in html
    response = move(client, item, "accept", rationale="Accepted")
    assert response.status_code == 409
    assert "needs 2 reviewers' accepts; 1 recorded" in unescape(main_of(response))
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW


def test_request_info_needs_a_message_to_the_submitter(file_item, as_staff):
    item = file_item()
    _user, client = as_staff("triager")
    response = move(client, item, "request_info", message="")
    assert response.status_code == 400
    assert "This field is required." in errors_of(main_of(response), "id_request_info-message")
    response = move(client, item, "request_info", message="Which **example** do you mean?")
    assert response.status_code == 303
    item.refresh_from_db()
    assert item.state == State.NEEDS_INFO
    note = Note.objects.get(item=item)
    assert note.kind == Note.Kind.PUBLIC_REPLY and "example" in note.body


def test_marking_a_duplicate_moves_endorsements_and_followers(file_item, as_staff, make_user):
    original = file_item(summary="The original")
    duplicate = file_item(summary="The same again")
    fan, both = make_user("fan"), make_user("both")
    feedback_endorse(acting_user=fan, item=duplicate)
    feedback_endorse(acting_user=both, item=duplicate)
    feedback_endorse(acting_user=both, item=original)
    feedback_endorse(acting_user=AnonymousUser(), item=duplicate, anonymous_key="k" * 40)
    Subscription.objects.create(user=fan, item=duplicate)
    _user, client = as_staff("triager")

    # Bad input first: unknown number, malformed number, itself; nothing moves.
    for value, message, status in [
        ("MS-2020-99999", "No feedback item has this tracking number.", 400),
        ("not a number", "Enter a tracking number such as MS-2025-00042.", 400),
        (duplicate.tracking_number, "An item cannot duplicate itself.", 400),
    ]:
        response = move(client, duplicate, "mark_duplicate", duplicate_of=value, rationale="Same")
        assert response.status_code == status, value
        assert message in errors_of(main_of(response), "id_mark_duplicate-duplicate_of"), value
    response = move(client, duplicate, "mark_duplicate", duplicate_of=original.tracking_number)
    assert response.status_code == 400
    assert "required" in errors_of(main_of(response), "id_mark_duplicate-rationale")
    assert Endorsement.objects.filter(item=original).count() == 1

    response = move(
        client,
        duplicate,
        "mark_duplicate",
        duplicate_of=original.tracking_number.lower(),  # forgiving about case
        rationale="Already reported.",
    )
    assert response.status_code == 303
    duplicate.refresh_from_db()
    original.refresh_from_db()
    assert duplicate.state == State.DUPLICATE and duplicate.duplicate_of_id == original.pk
    # fan and the anonymous browser move over; "both" had endorsed the original already.
    assert original.endorsement_count == 3 and duplicate.endorsement_count == 1
    assert Endorsement.objects.filter(item=original).count() == 3
    assert Subscription.objects.get(user=fan).item_id == original.pk
    html = main_of(client.get(page_url(duplicate)))
    assert f'href="/staff/items/{original.tracking_number}/"' in html
    public = main_of(Client().get(f"/feedback/{duplicate.tracking_number}/"))
    assert f'href="/feedback/{original.tracking_number}/">{original.tracking_number}</a>' in public
    assert "Already reported." in public


# --- Assignment and labels ---------------------------------------------------------------------


def test_assign_to_me_to_someone_and_to_nobody(file_item, as_staff, staff):
    item = file_item()
    me, client = as_staff("triager", username="me")
    colleague = staff("reviewer", username="colleague")
    staff("auditor", username="onlyreads")
    url = page_url(item) + "assign/"
    html = main_of(client.get(page_url(item)))
    assert '<option value="colleague">' in html and '<option value="onlyreads">' not in html

    assert client.post(url, {"me": "1"}).status_code == 303
    item.refresh_from_db()
    assert item.assignee_id == me.pk
    response = client.post(url, {"assign-assignee": "colleague"}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Assigned to colleague." in html and "<main" not in html
    item.refresh_from_db()
    assert item.assignee_id == colleague.pk
    response = client.post(url, {"assign-assignee": "onlyreads"})
    assert response.status_code == 400
    assert "Select a valid choice" in errors_of(main_of(response), "id_assign-assignee")
    assert client.post(url, {"assign-assignee": ""}).status_code == 303
    item.refresh_from_db()
    assert item.assignee_id is None
    assert Event.objects.filter(action="feedback.assigned").count() == 3


def test_labels_are_added_and_removed(file_item, as_staff):
    item = file_item()
    user, client = as_staff("triager")
    legal = label_create(acting_user=user, name="legal")
    tone = label_create(acting_user=user, name="tone")
    url = page_url(item) + "labels/"
    assert client.post(url, {"labels-labels": [legal.pk, tone.pk]}).status_code == 303
    assert set(item.labels.values_list("name", flat=True)) == {"legal", "tone"}
    response = client.post(url, {"labels-labels": [tone.pk]}, **HX)
    assert response.status_code == 200 and "Labels saved." in response.content.decode()
    assert list(item.labels.values_list("name", flat=True)) == ["tone"]
    response = client.post(url, {"labels-labels": ["999999"]})
    assert response.status_code == 400
    assert "Select a valid choice" in errors_of(main_of(response), "id_labels-labels")
    assert list(item.labels.values_list("name", flat=True)) == ["tone"]


# --- Notes and replies -------------------------------------------------------------------------


def test_internal_notes_are_threaded_and_record_mentions(file_item, as_staff, staff):
    item = file_item()
    _author, client = as_staff("triager", username="author")
    colleague = staff("reviewer", username="colleague")
    url = page_url(item) + "notes/"
    response = client.post(url, {"note-body": "What do you think, @colleague? *Really*"})
    assert response.status_code == 303
    first = Note.objects.get(item=item)
    assert first.kind == Note.Kind.INTERNAL
    assert list(first.mentions.all()) == [colleague]
    # A reply in the thread, by htmx: the notes come back in place.
    response = client.post(url, {"note-body": "Agreed.", "note-parent": first.pk}, **HX)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "Note added." in fragment and "<main" not in fragment
    reply = Note.objects.exclude(pk=first.pk).get()
    assert reply.parent_id == first.pk
    # Rendered as sanitised Markdown, the reply nested under its note.
    html = main_of(client.get(page_url(item)))
    assert "<em>Really</em>" in html and "Mentioned: @colleague" in html
    thread = html.split(f'id="note-{first.pk}"', 1)[1]
    assert '<ol class="fb-notes fb-thread">' in thread.split(f'id="note-{reply.pk}"')[0]
    # Bad input: empty, oversize, a parent from another item.
    other = file_item(summary="Other")
    foreign = Note.objects.create(item=other, kind="internal", author_label="x", body="x")
    for data, message in [
        ({"note-body": "  "}, "This field is required."),
        ({"note-body": "x" * 20001}, "at most 20000 characters"),
        ({"note-body": "hi", "note-parent": foreign.pk}, "not on this item"),
    ]:
        response = client.post(url, data)
        assert response.status_code == 400 and message in main_of(response)
    response = client.post(url, {"note-body": "", "note-parent": first.pk}, **HX)
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert Note.objects.filter(item=item).count() == 2


def test_a_public_reply_appears_publicly_and_an_internal_note_does_not(file_item, as_staff):
    item = file_item()
    _user, client = as_staff("triager", username="replier")
    client.post(page_url(item) + "notes/", {"note-body": "Internal musing 7731"})
    response = client.post(page_url(item) + "replies/", {"public-body": "Thanks, **looking**."})
    assert response.status_code == 303
    public = main_of(Client().get(f"/feedback/{item.tracking_number}/"))
    assert "Reply from the reviewers" in public and "<strong>looking</strong>" in public
    assert "Internal musing 7731" not in public and "replier" not in public
    response = client.post(page_url(item) + "replies/", {"public-body": ""})
    assert response.status_code == 400
    assert "This field is required." in errors_of(main_of(response), "id_public-body")


def test_internal_items_take_no_public_replies(file_item, as_staff, staff):
    item = file_item(user=staff("triager", username="filer"), visibility="internal")
    _user, client = as_staff("triager")
    assert 'name="public-body"' not in main_of(client.get(page_url(item)))
    response = client.post(page_url(item) + "replies/", {"public-body": "Hello world"})
    assert response.status_code == 400
    assert "Internal items take internal notes only." in main_of(response)
    assert not Note.objects.exists()


# --- Positions and decisions -------------------------------------------------------------------


def test_reviewers_record_positions_and_see_the_approval_status(file_item, as_staff):
    item = file_item(rank=0)
    _user, client = as_staff("reviewer", username="r1")
    url = page_url(item) + "position/"
    # Not in review yet: no form, and a post is a conflict.
    assert 'name="position-position"' not in main_of(client.get(page_url(item)))
    response = client.post(url, {"position-position": "accept", "position-rationale": "Yes"})
    assert response.status_code == 409
    set_state(item, State.IN_REVIEW)
    response = client.post(url, {"position-position": "accept", "position-rationale": ""})
    assert response.status_code == 400
    assert "Give the reason for your position." in main_of(response)
    response = client.post(url, {"position-position": "maybe"})
    assert response.status_code == 400
    assert "Select a valid choice" in errors_of(main_of(response), "id_position-position")
    response = client.post(
        url, {"position-position": "accept", "position-rationale": "Clearer."}, **HX
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "1 of 2 accepts" in fragment and "Accepted by: r1" in fragment
    assert "Your position is recorded: Accept." in fragment
    # Recusing needs no rationale, and replaces the reviewer's position in this round.
    assert client.post(url, {"position-position": "recuse"}).status_code == 303
    decision = Decision.objects.get(item=item)
    assert decision.position == "recuse"
    html = main_of(client.get(page_url(item)))
    assert "0 of 2 accepts" in html and "Recused: r1" in html


def test_a_prepared_decision_stays_private_until_published(file_item, as_staff):
    item = file_item()
    set_state(item, State.IN_REVIEW)
    _user, client = as_staff("reviewer")
    response = client.post(page_url(item) + "prepare/", {"prepare-action": "decline",
                                                         "prepare-rationale": ""})  # fmt: skip
    assert response.status_code == 400
    assert "required" in errors_of(main_of(response), "id_prepare-rationale")
    response = client.post(
        page_url(item) + "prepare/",
        {"prepare-action": "decline", "prepare-rationale": "Outside the spec 4410"},
    )
    assert response.status_code == 303
    staff_html = main_of(client.get(page_url(item)))
    assert "Prepared decision (not public yet)" in staff_html
    assert "Outside the spec 4410" in staff_html
    public = Client().get(f"/feedback/{item.tracking_number}/").content.decode()
    assert "Outside the spec 4410" not in public and "Declined" not in public
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW

    response = client.post(page_url(item) + "publish/")
    assert response.status_code == 303
    item.refresh_from_db()
    assert item.state == State.DECLINED and item.resolution == "Outside the spec 4410"
    assert not PreparedDecision.objects.exists()
    public = main_of(Client().get(f"/feedback/{item.tracking_number}/"))
    assert "Outside the spec 4410" in public and "Declined" in public
    # Nothing left to publish: a clear conflict.
    response = client.post(page_url(item) + "publish/")
    assert response.status_code == 409
    assert "There is no prepared decision on this item." in main_of(response)


def test_triagers_cannot_prepare_decisions(file_item, as_staff):
    item = file_item()
    _user, client = as_staff("triager")
    assert 'name="prepare-rationale"' not in main_of(client.get(page_url(item)))
    response = client.post(
        page_url(item) + "prepare/", {"prepare-action": "decline", "prepare-rationale": "No"}
    )
    assert response.status_code == 403
    assert not PreparedDecision.objects.exists()
