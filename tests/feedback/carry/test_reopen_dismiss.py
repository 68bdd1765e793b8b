"""Reviewers dismiss a submitter's request to reopen a closed item ("we read it, and it stays
closed"): who may, what must stand first, the reason, the internal ledger event, the queue's
"Reopening requested" view before and after, the staff item page and its form."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from feedback.carry import carried_answer
from feedback.errors import FeedbackError, NotAllowed
from feedback.models import FeedbackItem, ProposalLink, Reanchoring, State
from feedback.reopen_requests import (
    DISMISSED_ACTION,
    REASON_MAX,
    NoReopenRequest,
    reopen_request_dismiss,
)
from feedback.transitions import feedback_transition
from modelspec_site.audit.models import Event
from revisions.models import ChangeProposal
from tests.conftest import sign_in_two_factor

from .conftest import CHANGED_QUOTE, CLAUSE, NEW

QUEUE_REOPEN = "/staff/queue/?state=closed&reanchor=reopen"
REASON = "Read it: the new wording covers the case; it stays closed."


def _page(item) -> str:
    return f"/staff/items/{item.tracking_number}/"


def _dismiss_url(item) -> str:
    return f"/staff/items/{item.tracking_number}/reopen-request/dismiss/"


def _fresh(item) -> FeedbackItem:
    return FeedbackItem.objects.get(pk=item.pk)


def _answer(item, response: str) -> Reanchoring:
    """The submitter answers about the latest carry-forward, through the real service."""
    row = Reanchoring.objects.filter(item=item).latest("created_at")
    return carried_answer(acting_user=AnonymousUser(), reanchoring=row, response=response)


def _events():
    return Event.objects.filter(action=DISMISSED_ACTION)


@pytest.fixture
def people(make_user):
    made = {}

    def get(role: str):
        if role not in made:
            made[role] = make_user(f"{role}-1", roles=(role,), is_staff=True)
        return made[role]

    return get


@pytest.fixture
def carried(file_item, publish):
    """An open item, carried to the new version by publishing."""
    item = file_item(quote=CHANGED_QUOTE, submitter_email="anon@example.org").item
    publish()
    assert Reanchoring.objects.filter(item=item, version__label=NEW).exists()
    return _fresh(item)


@pytest.fixture
def declined_no(carried, people):
    """Carried, then declined; the submitter answers "no": a request to reopen stands."""
    editor = people("editor")
    feedback_transition(acting_user=editor, item=carried, action="triage")
    feedback_transition(acting_user=editor, item=carried, action="decline", rationale="Out.")
    _answer(carried, "no")
    return _fresh(carried)


def _client(user) -> Client:
    return sign_in_two_factor(Client(), user)


def _queue_numbers(client) -> str:
    response = client.get(QUEUE_REOPEN)
    assert response.status_code == 200
    return response.content.decode()


# --- The service -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reviewer", "editor"])
def test_reviewers_and_editors_dismiss_and_the_ledger_keeps_it_internally(
    role, declined_no, people
):
    who = people(role)
    row = reopen_request_dismiss(acting_user=who, item=declined_no, reason=f"  {REASON}\n")

    assert row.dismissed_by == who and row.dismissed_at is not None
    assert row.dismiss_reason == REASON  # stripped
    stored = Reanchoring.objects.get(item=declined_no, response="no")
    assert (stored.dismissed_by_id, stored.dismiss_reason) == (who.pk, REASON)
    assert _fresh(declined_no).state == State.DECLINED  # it stays closed
    event = _events().get()
    assert event.visibility == "internal"
    assert event.actor_id == who.pk
    assert event.data == {
        "tracking_number": declined_no.tracking_number,
        "version": NEW,
        "reason": REASON,
    }
    assert [(s["type"], s["id"]) for s in event.subjects] == [
        ("feedback.feedbackitem", str(declined_no.pk))
    ]


@pytest.mark.parametrize("role", ["triager", "moderator", "auditor"])
def test_other_roles_and_the_public_are_refused_and_nothing_changes(role, declined_no, people):
    for who in (people(role), AnonymousUser()):
        with pytest.raises(NotAllowed) as refused:
            reopen_request_dismiss(acting_user=who, item=declined_no, reason=REASON)
        assert refused.value.status == 403
    assert Reanchoring.objects.get(item=declined_no, response="no").dismissed_at is None
    assert not _events().exists()


def test_nothing_to_dismiss_without_a_standing_no(carried, file_item, people):
    reviewer, editor = people("reviewer"), people("editor")
    # An open item whose submitter answered no: nothing to reopen.
    _answer(carried, "no")
    with pytest.raises(NoReopenRequest) as refused:
        reopen_request_dismiss(acting_user=reviewer, item=carried, reason=REASON)
    assert refused.value.status == 409
    # Closed, but the answer is "partly", then "yes".
    feedback_transition(acting_user=editor, item=carried, action="triage")
    feedback_transition(acting_user=editor, item=carried, action="decline", rationale="Out.")
    for answer in ("partly", "yes"):
        _answer(carried, answer)
        with pytest.raises(NoReopenRequest):
            reopen_request_dismiss(acting_user=reviewer, item=_fresh(carried), reason=REASON)
    # Closed and never carried forward at all.
    never = file_item(summary="never carried").item
    feedback_transition(acting_user=editor, item=never, action="decline", rationale="Out.")
    with pytest.raises(NoReopenRequest):
        reopen_request_dismiss(acting_user=reviewer, item=_fresh(never), reason=REASON)
    assert not _events().exists()
    assert not Reanchoring.objects.filter(dismissed_at__isnull=False).exists()


def test_a_request_is_dismissed_once(declined_no, people):
    first, second = people("reviewer"), people("editor")
    reopen_request_dismiss(acting_user=first, item=declined_no, reason=REASON)
    with pytest.raises(NoReopenRequest) as refused:
        reopen_request_dismiss(acting_user=second, item=declined_no, reason="Again.")
    assert refused.value.status == 409
    row = Reanchoring.objects.get(item=declined_no, response="no")
    assert (row.dismissed_by_id, row.dismiss_reason) == (first.pk, REASON)
    assert _events().count() == 1


@pytest.mark.parametrize("reason", ["", "   \n ", "x" * (REASON_MAX + 1)])
def test_the_reason_is_required_and_bounded(reason, declined_no, people):
    with pytest.raises(FeedbackError) as refused:
        reopen_request_dismiss(acting_user=people("reviewer"), item=declined_no, reason=reason)
    assert refused.value.field == "reason" and refused.value.status == 400
    assert Reanchoring.objects.get(item=declined_no, response="no").dismissed_at is None
    assert not _events().exists()


def test_a_reason_of_the_maximum_length_is_taken(declined_no, people):
    row = reopen_request_dismiss(
        acting_user=people("reviewer"), item=declined_no, reason="y" * REASON_MAX
    )
    assert len(row.dismiss_reason) == REASON_MAX


def test_the_item_can_still_be_reopened_after_a_dismissal(declined_no, people):
    reviewer = people("reviewer")
    reopen_request_dismiss(acting_user=reviewer, item=declined_no, reason=REASON)
    item = feedback_transition(
        acting_user=reviewer, item=declined_no, action="reopen", rationale="On reflection."
    )
    assert _fresh(item).state == State.TRIAGED
    assert Event.objects.filter(action="feedback.reopened").count() == 1


# --- The queue -------------------------------------------------------------------------------


def test_the_reopen_view_drops_a_dismissed_request_and_lists_a_new_no(
    declined_no, file_item, people
):
    reviewer = people("reviewer")
    queue = _client(reviewer)
    assert declined_no.tracking_number in _queue_numbers(queue)

    reopen_request_dismiss(acting_user=reviewer, item=declined_no, reason=REASON)
    assert declined_no.tracking_number not in _queue_numbers(queue)
    # The API's staff filter reads through the same queue code.
    api = queue.get("/api/v1/feedback/", {"state": "closed", "reanchor": "reopen"})
    assert api.status_code == 200
    assert declined_no.tracking_number not in [r["tracking_number"] for r in api.json()["results"]]

    # The submitter answers "no" again (the answer page lets them change it): asked again.
    _answer(declined_no, "no")
    assert declined_no.tracking_number in _queue_numbers(queue)
    page = _client(reviewer).get(_page(declined_no)).content.decode()
    assert "An earlier request was dismissed by reviewer-1" in page
    assert "Dismiss the request" in page
    reopen_request_dismiss(acting_user=reviewer, item=declined_no, reason="Still closed.")
    assert declined_no.tracking_number not in _queue_numbers(queue)
    assert _events().count() == 2


def test_an_incorporated_item_answered_no_is_listed_until_dismissed_through_the_page(
    file_item, publish, draft, current, accept, make_user
):
    """The whole path: accepted, incorporated by publishing, the submitter answers "no" through
    the signed link of the message, a reviewer dismisses from the staff item page."""
    from feedback.messaging import CARRIED_KIND
    from modelspec_site.outbox.models import OutboxMessage

    from .test_answer_and_notify import _answer_path

    item = accept(file_item(quote=CHANGED_QUOTE, submitter_email="anon@example.org").item)
    proposal = ChangeProposal.objects.create(
        spec=current.spec, operation="edit", state="applied", base_version=current,
        rationale="Clearer.", author=make_user("author", roles=("editor",)), draft=draft,
        applied_anchor=CLAUSE,
    )  # fmt: skip
    ProposalLink.objects.create(item=item, proposal=proposal)
    publish()
    assert _fresh(item).state == State.INCORPORATED
    carried = OutboxMessage.objects.get(kind=CARRIED_KIND, recipient="anon@example.org")
    assert Client().post(_answer_path(carried), {"response": "no"}).status_code == 303

    reviewer = make_user("rev-dismiss", roles=("reviewer",), is_staff=True)
    staff = _client(reviewer)
    assert item.tracking_number in _queue_numbers(staff)
    page = staff.get(_page(item)).content.decode()
    assert f"The submitter answered No after version {NEW} on " in page
    done = staff.post(_dismiss_url(item), {"reason": REASON})
    assert done.status_code == 303
    assert item.tracking_number not in _queue_numbers(staff)
    assert _fresh(item).state == State.INCORPORATED
    assert _events().get().data["version"] == NEW


# --- The page and the form -------------------------------------------------------------------


def _section(html: str) -> str:
    start = html.index('id="reopen-request"')
    return html[start : html.index("</section>", start)]


def test_the_page_shows_the_request_and_the_form_then_the_dismissal(declined_no, people):
    reviewer = people("reviewer")
    client = _client(reviewer)
    html = client.get(_page(declined_no)).content.decode()
    section = _section(html)
    assert "<h2" in section and "Request to reopen" in section
    assert f"The submitter answered No after version {NEW} on " in section
    assert "the new text does not resolve their concern." in section
    assert (
        'for="reopen-reason"' in section
        and 'id="reopen-reason"' in section
        and '<textarea name="reason"' in section
    )
    assert f'action="{_dismiss_url(declined_no)}"' in section
    assert "csrfmiddlewaretoken" in section
    assert ">Dismiss the request</button>" in section
    # Placed before the change proposals.
    assert html.index('id="reopen-request"') < html.index('id="proposals"')

    done = client.post(_dismiss_url(declined_no), {"reason": "Covered <b>already</b>."})
    assert done.status_code == 303
    assert done["Location"] == f"{_page(declined_no)}#reopen-request"
    after = client.get(done["Location"]).content.decode()
    assert "Request dismissed. The item stays closed." in after
    section = _section(after)
    assert "Dismissed by" in section and "reviewer-1" in section
    assert "<time datetime=" in section
    assert "Covered &lt;b&gt;already&lt;/b&gt;." in section  # escaped
    assert "<textarea" not in section and "Dismiss the request" not in section


def test_a_refused_post_answers_with_the_page_and_changes_nothing(declined_no, people):
    client = _client(people("reviewer"))
    empty = client.post(_dismiss_url(declined_no), {"reason": "  "})
    assert empty.status_code == 400
    assert "Say why the item stays closed." in empty.content.decode()
    long = "z" * (REASON_MAX + 1)
    too_long = client.post(_dismiss_url(declined_no), {"reason": long})
    assert too_long.status_code == 400 and long in too_long.content.decode()  # kept as typed
    assert Reanchoring.objects.get(item=declined_no, response="no").dismissed_at is None

    assert client.post(_dismiss_url(declined_no), {"reason": REASON}).status_code == 303
    again = client.post(_dismiss_url(declined_no), {"reason": "Twice."})
    assert again.status_code == 409
    assert "No request to reopen this item is waiting" in again.content.decode()
    assert _events().count() == 1


def test_who_may_post(declined_no, people, make_user):
    url = _dismiss_url(declined_no)
    triager = _client(people("triager"))
    page = triager.get(_page(declined_no)).content.decode()
    section = _section(page)
    assert "The submitter answered No" in section and "<textarea" not in section
    refused = triager.post(url, {"reason": REASON})
    assert refused.status_code == 403
    assert "Only reviewers and editors dismiss a request to reopen." in refused.content.decode()

    anonymous = Client().post(url, {"reason": REASON})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    member = Client()
    member.force_login(make_user("member"))
    assert member.post(url, {"reason": REASON}).status_code == 404
    assert _client(people("reviewer")).get(url).status_code == 405  # POST only
    assert not _events().exists()


def test_no_section_without_a_no(carried, people):
    client = _client(people("reviewer"))
    assert 'id="reopen-request"' not in client.get(_page(carried)).content.decode()
    _answer(carried, "partly")
    assert 'id="reopen-request"' not in client.get(_page(carried)).content.decode()
    _answer(carried, "no")  # on an open item: shown, nothing to dismiss
    section = _section(client.get(_page(carried)).content.decode())
    assert "The item is not closed" in section and "<textarea" not in section
