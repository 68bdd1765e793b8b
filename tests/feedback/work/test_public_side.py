"""The public and the submitter's side of working an item: the public timeline (public moves
with their rationale, public and submitter replies, "duplicate of"; never internal notes,
positions, prepared decisions, labels or the assignee), the submitter's answer while the item
needs information (through their account or their private follow link) and withdrawing."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from feedback.models import FeedbackItem, Note, State, Transition
from feedback.services import Submission, feedback_submit
from feedback.transitions import (
    decision_prepare,
    decision_record,
    feedback_transition,
    item_assign,
    item_labels_change,
    label_create,
    note_add,
)

from .conftest import clause_of_rank, main_of, page_url, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(version):
    """filed(user=None, **fields) -> (item, follow token)."""

    def file(*, user=None, **fields):
        fields.setdefault("kind", "unclear")
        fields.setdefault("summary", "A summary")
        submission = Submission(version=version, clause_id=clause_of_rank(version, 3), **fields)
        result = feedback_submit(acting_user=user or AnonymousUser(), submission=submission)
        return result.item, result.follow_token

    return file


def words(html: str) -> str:
    """The text of some HTML, tags removed and white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def public_page(item, client=None) -> str:
    response = (client or Client()).get(f"/feedback/{item.tracking_number}/")
    assert response.status_code == 200
    return unescape(main_of(response))


def test_the_public_timeline_shows_public_moves_and_never_internal_work(filed, staff):
    item, _token = filed(submitter_email="sub@example.org")
    triager = staff("triager", username="tessa")
    reviewer = staff("reviewer", username="rowan")
    feedback_transition(acting_user=triager, item=item, action="triage")
    label = label_create(acting_user=triager, name="label-zebra")
    item_labels_change(acting_user=triager, item=item, add=[label])
    item_assign(acting_user=triager, item=item, assignee=reviewer)
    note_add(acting_user=triager, item=item, body="internal note quokka")
    note_add(acting_user=triager, item=item, body="public reply *otter*", public=True)
    feedback_transition(acting_user=triager, item=item, action="start_review")
    decision_record(acting_user=reviewer, item=item, position="decline", rationale="ibex reason")
    decision_prepare(acting_user=reviewer, item=item, action="decline", rationale="lynx draft")
    auditor = sign_in(staff("auditor", username="audrey"))
    for client in (Client(), sign_in(staff("editor", username="ed")), auditor):
        html = public_page(item, client)
        timeline = html.split('id="timeline-title"', 1)[1]
        assert timeline.index("Received") < timeline.index("Triaged")
        assert timeline.index("Triaged") < timeline.index("Reply from the reviewers")
        assert timeline.index("otter") < timeline.index("Review started")
        for secret in ("quokka", "label-zebra", "ibex reason", "lynx draft", "rowan",
                       "tessa", "Position", "Labelled", "Assigned", "Noted"):  # fmt: skip
            assert secret not in timeline, secret
        assert "Decision:" not in html  # in review: no decision yet
    # Published, the decision and its rationale appear.
    feedback_transition(acting_user=reviewer, item=item, action="decline", rationale="Out of scope")
    html = public_page(item)
    assert "Decision: Declined Out of scope" in words(html)
    assert "lynx draft" not in html


def test_needs_info_round_trip_through_the_private_follow_link(filed, staff, as_staff):
    item, token = filed(submitter_email="anon@example.org")
    follow = f"/feedback/{item.tracking_number}/follow/{token}/"
    _t, triager = as_staff("triager")
    response = triager.post(
        page_url(item) + "transition/",
        {"action": "request_info", "request_info-expected_state": "received",
         "request_info-message": "Which example do you mean?"},
    )  # fmt: skip
    assert response.status_code == 303
    item.refresh_from_db()
    assert item.state == State.NEEDS_INFO

    visitor = Client()
    html = unescape(main_of(visitor.get(follow)))
    assert "Which example do you mean?" in html and "Send my answer" in html
    assert f'action="{follow}"' in html  # the forms post to the link itself, nowhere else
    # The public, without the link, gets no answer form.
    assert "Send my answer" not in public_page(item)
    # Empty answer: an error next to the field, nothing changes.
    response = visitor.post(follow, {"action": "provide_info", "expected_state": "needs_info",
                                     "answer-message": " "})  # fmt: skip
    assert response.status_code == 400
    assert "This field is required." in main_of(response)
    assert response["Cache-Control"] == "private, no-store"
    # A wrong token: a plain 404, nothing changes.
    wrong = f"/feedback/{item.tracking_number}/follow/not-the-token-0123456789/"
    response = visitor.post(wrong, {"action": "provide_info", "answer-message": "Hi"})
    assert response.status_code == 404
    item.refresh_from_db()
    assert item.state == State.NEEDS_INFO

    response = visitor.post(follow, {"action": "provide_info", "expected_state": "needs_info",
                                     "answer-message": "The *second* one."})  # fmt: skip
    assert response.status_code == 303 and response["Location"] == follow
    item.refresh_from_db()
    assert item.state == State.RECEIVED
    answer = Note.objects.get(item=item, kind=Note.Kind.SUBMITTER_REPLY)
    assert answer.body == "The *second* one." and answer.author_id is None
    move = Transition.objects.get(item=item, action="provide_info")
    assert move.actor_label == "submitter"
    html = public_page(item)
    assert "Information sent by the submitter" in html and "<em>second</em>" in html
    assert "Thank you: your answer was sent" in visitor.get(follow).content.decode()
    # Back in received: no answer form any more; the same form again is a conflict.
    assert "Send my answer" not in main_of(visitor.get(follow))
    response = visitor.post(follow, {"action": "provide_info", "expected_state": "needs_info",
                                     "answer-message": "Again"})  # fmt: skip
    assert response.status_code == 409
    assert Note.objects.filter(kind=Note.Kind.SUBMITTER_REPLY).count() == 1


def test_a_signed_in_submitter_answers_from_the_item_page(filed, staff, make_user):
    owner = make_user("owner")
    item, _token = filed(user=owner)
    triager = staff("triager")
    feedback_transition(acting_user=triager, item=item, action="request_info", message="Why?")
    url = f"/feedback/{item.tracking_number}/answer/"
    data = {"action": "provide_info", "expected_state": "needs_info", "answer-message": "Because"}
    # Someone else, signed in or not, may not answer for the submitter.
    for stranger in (Client(), sign_in(make_user("stranger"))):
        assert "Send my answer" not in public_page(item, stranger)
        response = stranger.post(url, data)
        assert response.status_code == 403
        assert "You may not take this action on this item." in unescape(main_of(response))
        assert "Send my answer" not in main_of(response)
    mine = sign_in(owner)
    assert "Send my answer" in public_page(item, mine)
    assert f'action="{url}"' in main_of(mine.get(f"/feedback/{item.tracking_number}/"))
    response = mine.post(url, data)
    assert response.status_code == 303 and response["Location"] == item.get_absolute_url()
    item.refresh_from_db()
    assert item.state == State.RECEIVED
    assert Note.objects.get(kind=Note.Kind.SUBMITTER_REPLY).author_id == owner.pk
    assert mine.get(url).status_code == 405


def test_the_submitter_withdraws_by_account_or_private_link(filed, make_user):
    owner = make_user("owner")
    mine, _ = filed(user=owner)
    anonymous, token = filed(submitter_email="a@example.org")
    client = sign_in(owner)
    assert "Withdraw my feedback" in public_page(mine, client)
    assert "Withdraw my feedback" not in public_page(mine)
    url = f"/feedback/{mine.tracking_number}/withdraw/"
    assert Client().post(url, {"expected_state": "received"}).status_code == 403
    # A stale form (the item moved on since it was drawn) is a conflict.
    response = client.post(url, {"expected_state": "triaged"})
    assert response.status_code == 409
    assert "someone else acted on it first" in unescape(main_of(response))
    assert client.post(url, {"expected_state": "received"}).status_code == 303
    mine.refresh_from_db()
    assert mine.state == State.WITHDRAWN
    html = public_page(mine)
    assert "Withdrawn by the submitter" in html and "Decision: Withdrawn" in words(html)
    assert "Withdraw my feedback" not in public_page(mine, client)

    follow = f"/feedback/{anonymous.tracking_number}/follow/{token}/"
    response = Client().post(follow, {"action": "withdraw", "expected_state": "received"})
    assert response.status_code == 303
    anonymous.refresh_from_db()
    assert anonymous.state == State.WITHDRAWN
    # Unknown actions through the link change nothing.
    response = Client().post(follow, {"action": "accept"})
    assert response.status_code == 400
    assert FeedbackItem.objects.filter(state=State.WITHDRAWN).count() == 2
