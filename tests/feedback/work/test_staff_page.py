"""The staff item page: who may open it, and which buttons each role gets (drawn from the
workflow table, never hard-coded); auditors read only."""

import re

import pytest
from django.test import Client

from feedback import workflow
from feedback.models import FeedbackItem, Label, Note, State
from feedback.transitions import label_create, note_add

from .conftest import main_of, page_url, sign_in

pytestmark = pytest.mark.django_db

ACTION_FORM = re.compile(r'<form [^>]*id="action-(\w+)"')


def drawn_actions(html: str) -> list[str]:
    return ACTION_FORM.findall(html)


def set_state(item, state):
    FeedbackItem.objects.filter(pk=item.pk).update(state=state)
    item.refresh_from_db()


def test_anonymous_visitors_are_sent_to_sign_in_and_accounts_get_a_404(file_item, make_user, staff):
    public = file_item(summary="Public words")
    internal = file_item(user=staff("triager"), visibility="internal", summary="Secret words")
    for item in (public, internal):
        response = Client().get(page_url(item))
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=/staff/items/")
        # Every form of the page too.
        response = Client().post(page_url(item) + "transition/", {"action": "triage"})
        assert response.status_code == 302
    commenter = sign_in(make_user("commenter"))
    never = "MS-2020-99999"
    answers = [commenter.get(f"/staff/items/{n}/") for n in (public.tracking_number, never)]
    assert [a.status_code for a in answers] == [404, 404]
    for item in (public, internal):
        response = commenter.post(page_url(item) + "notes/", {"note-body": "hello"})
        assert response.status_code == 404
        assert "Secret words" not in response.content.decode()
    assert not Note.objects.exists()
    assert Client().get(page_url(public) + "transition/").status_code == 405


def test_staff_see_internal_items_too(file_item, staff, as_staff):
    internal = file_item(user=staff("triager"), visibility="internal", summary="Secret words")
    _user, client = as_staff("triager", username="t2")
    response = client.get(page_url(internal))
    assert response.status_code == 200
    assert "Secret words" in main_of(response) and "Internal: staff only" in main_of(response)
    assert client.get("/staff/items/MS-2020-99999/").status_code == 404


ROLES = ["triager", "reviewer", "editor", "moderator", "auditor"]


@pytest.mark.parametrize("role", ROLES)
def test_the_buttons_follow_the_transition_table_in_every_state(role, file_item, as_staff):
    item = file_item()
    user, client = as_staff(role)
    actors = workflow.actors_of(user)
    seen = set()
    for state in State.values:
        set_state(item, state)
        html = main_of(client.get(page_url(item)))
        expected = [a.name for a in workflow.actions_for(state, actors)]
        assert drawn_actions(html) == expected, state
        seen.update(expected)
    # The submitter's and the system's moves never appear on the staff page.
    assert not seen & {"provide_info", "withdraw", "incorporate"}
    wanted = {
        "triager": {"triage", "start_review", "request_info", "mark_duplicate", "decline",
                    "mark_spam"},
        "reviewer": {"triage", "start_review", "request_info", "mark_duplicate", "decline",
                     "mark_spam", "defer", "accept", "reopen"},
        "moderator": {"mark_spam"},
        "auditor": set(),
    }  # fmt: skip
    wanted["editor"] = wanted["reviewer"]
    assert seen == wanted[role]


def test_a_triager_cannot_decline_from_review_but_a_reviewer_can(file_item, as_staff):
    item = file_item()
    set_state(item, State.IN_REVIEW)
    _t, triager = as_staff("triager")
    _r, reviewer = as_staff("reviewer")
    assert "decline" not in drawn_actions(main_of(triager.get(page_url(item))))
    assert "decline" in drawn_actions(main_of(reviewer.get(page_url(item))))


def test_auditors_read_everything_and_change_nothing(file_item, staff, as_staff):
    item = file_item(summary="Look at me")
    triager = staff("triager")
    label = label_create(acting_user=triager, name="needs-legal")
    from feedback.transitions import item_labels_change

    item_labels_change(acting_user=triager, item=item, add=[label])
    note_add(acting_user=triager, item=item, body="An internal thought")
    set_state(item, State.IN_REVIEW)
    _a, auditor = as_staff("auditor")
    response = auditor.get(page_url(item))
    html = main_of(response)
    assert response.status_code == 200
    assert "An internal thought" in html and "needs-legal" in html and "Look at me" in html
    assert "Your role does not change items" in html
    assert "<form" not in html  # no form at all: read-only
    posts = {
        "transition/": {"action": "decline", "decline-expected_state": "in_review",
                        "decline-rationale": "no"},
        "notes/": {"note-body": "auditor writes"},
        "replies/": {"public-body": "auditor replies"},
        "assign/": {"me": "1"},
        "labels/": {"labels-labels": []},
        "position/": {"position-position": "accept", "position-rationale": "yes"},
        "prepare/": {"prepare-action": "decline", "prepare-rationale": "no"},
        "publish/": {},
    }  # fmt: skip
    for path, data in posts.items():
        response = auditor.post(page_url(item) + path, data)
        assert response.status_code == 403, path
        assert "Your role reads items but does not change them." in main_of(response)
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW and item.assignee_id is None
    assert list(item.labels.all()) == [label]
    assert Note.objects.filter(item=item).count() == 1
    assert Label.objects.count() == 1
