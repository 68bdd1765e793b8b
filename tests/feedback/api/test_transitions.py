"""POST /api/v1/feedback/{tracking_number}/transitions/{action}/ and …/decisions/ (staff only):
the same services as the staff pages, every refusal as JSON with a stable code, nothing
changed on refusal, and the operations documented in the staff schema only."""

import json

import pytest
from django.test import Client
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token

from feedback.models import Decision, FeedbackItem, IdempotencyRecord, State, Transition
from modelspec_site.audit.models import Event
from revisions.models import ClauseText

pytestmark = pytest.mark.django_db

ROOT_CLAUSE_RANK = 0


def url(item_or_number, action=None):
    number = getattr(item_or_number, "tracking_number", item_or_number)
    tail = f"transitions/{action}/" if action else "decisions/"
    return f"/api/v1/feedback/{number}/{tail}"


def send(client, item, action=None, body=None, **extra):
    data = "" if body is None else (body if isinstance(body, (str, bytes)) else json.dumps(body))
    return client.post(url(item, action), data, content_type="application/json", **extra)


def state_of(item):
    return FeedbackItem.objects.values_list("state", flat=True).get(pk=item.pk)


def unchanged(item, state, events):
    return (
        state_of(item) == state
        and not Transition.objects.filter(item=item).exists()
        and Event.objects.count() == events
    )


@pytest.fixture
def item(file_item):
    return file_item(summary="Which instruction is later?")


@pytest.fixture
def put(db):
    def move(item, state):
        FeedbackItem.objects.filter(pk=item.pk).update(state=state)
        item.refresh_from_db()
        return item

    return move


# --- Success ---------------------------------------------------------------------------------


def test_a_triager_triages(staff_client, item):
    client = staff_client("triager", username="tri")
    events = Event.objects.count()
    response = send(client, item, "triage", {"expected_state": "received"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["tracking_number"] == item.tracking_number
    assert (body["state"], body["visibility"]) == ("triaged", "public")
    assert body["url"].endswith(f"/api/v1/feedback/{item.tracking_number}/")
    # The same representation as reading the item.
    assert body == client.get(f"/api/v1/feedback/{item.tracking_number}/").json()
    assert state_of(item) == State.TRIAGED
    transition = Transition.objects.get(item=item)
    assert (transition.actor_label, transition.action) == ("tri", "triage")
    assert Event.objects.count() == events + 1
    assert Event.objects.get(seq=transition.event_seq).action == "feedback.triaged"


def test_an_action_that_needs_nothing_takes_no_body(staff_client, item):
    response = staff_client("moderator").generic("POST", url(item, "mark_spam"))
    assert response.status_code == 200, response.json()
    assert state_of(item) == State.SPAM


def test_declining_with_a_rationale_and_a_message(staff_client, item):
    body = {"rationale": "Covered by the clause.", "message": "Thanks for writing."}
    response = send(staff_client("triager"), item, "decline", body)
    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.state, item.resolution) == (State.DECLINED, "Covered by the clause.")
    assert item.notes.get().body == "Thanks for writing."


def test_marking_a_duplicate_by_tracking_number(staff_client, item, file_item):
    original = file_item(summary="The original")
    body = {"duplicate_of": original.tracking_number, "rationale": "Same question."}
    response = send(staff_client("triager"), item, "mark_duplicate", body)
    assert response.status_code == 200, response.json()
    item.refresh_from_db()
    assert (item.state, item.duplicate_of_id) == (State.DUPLICATE, original.pk)


def test_staff_act_on_internal_items(staff_client, file_item, make_user):
    editor = make_user("writer", roles=["editor"], is_staff=True)
    internal = file_item(summary="Internal", visibility="internal", acting_user=editor)
    response = send(staff_client("triager"), internal, "triage")
    assert response.status_code == 200
    assert response.json()["visibility"] == "internal"


# --- Refusals --------------------------------------------------------------------------------


def test_a_stale_expected_state_is_a_conflict(staff_client, item, put):
    put(item, State.TRIAGED)
    events = Event.objects.count()
    response = send(staff_client("triager"), item, "mark_spam", {"expected_state": "received"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition_conflict"
    assert "someone else acted on it first" in body["detail"]
    assert set(body["errors"]) == {"state"}
    assert unchanged(item, State.TRIAGED, events)


def test_an_action_the_state_does_not_allow_is_a_conflict(staff_client, item):
    events = Event.objects.count()
    response = send(staff_client("reviewer"), item, "defer", {"rationale": "Later."})
    assert (response.status_code, response.json()["code"]) == (409, "transition_conflict")
    assert unchanged(item, State.RECEIVED, events)


def test_accepting_without_enough_accepts_is_pending(staff_client, file_item, put, make_user):
    clause = ClauseText.objects.filter(authority_rank=ROOT_CLAUSE_RANK, version__label="2025-09-12")
    root_item = put(file_item(clause=clause.order_by("position").first().anchor), State.IN_REVIEW)
    other = make_user("other-reviewer", roles=["reviewer"], is_staff=True)
    Decision.objects.create(item=root_item, reviewer=other, review_round=1, position="accept")
    events = Event.objects.count()
    response = send(staff_client("reviewer"), root_item, "accept", {"rationale": "Good."})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "approval_pending"
    assert "needs 2" in body["detail"] and "1 recorded" in body["detail"]
    assert unchanged(root_item, State.IN_REVIEW, events)


@pytest.mark.parametrize("role", ["auditor", "moderator"])
def test_a_role_that_may_not_is_forbidden(role, staff_client, item):
    events = Event.objects.count()
    response = send(staff_client(role), item, "triage")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert unchanged(item, State.RECEIVED, events)


def test_a_triager_may_not_decline_out_of_review(staff_client, item, put):
    put(item, State.IN_REVIEW)
    response = send(staff_client("triager"), item, "decline", {"rationale": "No."})
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert state_of(item) == State.IN_REVIEW


@pytest.mark.parametrize("action", ["triage", "withdraw", "mark_spam", "no_such_action"])
def test_the_public_cannot_transition(action, anonymous, make_user, item):
    """Anonymous, a signed-in account, the item's own submitter, and a token of a non-staff
    account: 403 before anything is read, whatever the action."""
    events = Event.objects.count()
    response = send(anonymous, item, action)
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"

    person = make_user("person")
    FeedbackItem.objects.filter(pk=item.pk).update(submitter=person)
    signed_in = Client()
    signed_in.force_login(person)
    response = send(signed_in, item, action)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    token = Token.objects.create(user=person)
    response = send(Client(), item, action, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    response = send(anonymous, item, None, {"position": "accept", "rationale": "x"})
    assert response.status_code == 403
    assert unchanged(item, State.RECEIVED, events)


def test_staff_without_two_factor_sign_in_are_sent_to_it(make_user, item):
    person = make_user("half-signed", roles=["triager"], is_staff=True)
    client = Client()
    client.force_login(person)
    response = send(client, item, "triage")
    assert response.status_code == 302
    assert "/accounts/2fa/" in response["Location"]
    assert state_of(item) == State.RECEIVED


def test_a_session_needs_its_csrf_token(staff_client, item):
    client = staff_client("triager")
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    response = send(strict, item, "triage")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert state_of(item) == State.RECEIVED


@pytest.mark.parametrize(
    "number", ["MS-2025-99999", "not-a-number", "MS-2025-00001%00", "ms-2025-00001"]
)
def test_an_unknown_item_is_not_found(number, staff_client, item):
    response = send(staff_client("editor"), number, "triage")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_an_unknown_action_is_not_found_with_its_own_code(staff_client, item):
    events = Event.objects.count()
    response = send(staff_client("editor"), item, "approve", {"rationale": "x"})
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_action"
    assert unchanged(item, State.RECEIVED, events)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"state": "accepted"}, "unknown_field", "state"),
        ({"rationale": 123}, "invalid", "rationale"),
        ({"rationale": ["a"]}, "invalid", "rationale"),
        ({"rationale": "a\x00b"}, "invalid", "rationale"),
        ({"expected_state": "approved"}, "invalid", "expected_state"),
        ({"expected_state": None}, "invalid", "expected_state"),
        ({"duplicate_of": 42}, "invalid", "duplicate_of"),
        ({"message": "x" * 20_001}, "invalid", "message"),
        ({"rationale": "x" * 5_001}, "invalid", "rationale"),
        ({"duplicate_of": "MS-2025-99999", "rationale": "x"}, "unknown_target", "duplicate_of"),
        ({}, "invalid", "rationale"),  # required by the action
        ({"rationale": "   "}, "invalid", "rationale"),
        ({"rationale": "x"}, "invalid", "duplicate_of"),  # required by the action
    ],
)
def test_bad_bodies_are_refused_field_by_field(body, code, field, staff_client, item):
    events = Event.objects.count()
    response = send(staff_client("triager"), item, "mark_duplicate", body)
    assert response.status_code == 400, response.json()
    data = response.json()
    assert data["code"] == code
    assert field in data["errors"]
    assert unchanged(item, State.RECEIVED, events)


@pytest.mark.parametrize(
    ("raw", "code"),
    [("{not json", "parse_error"), ("[]", "not_an_object"), ('{"a": 1, "a": 2}', "parse_error")],
)
def test_malformed_json_is_refused(raw, code, staff_client, item):
    response = send(staff_client("triager"), item, "triage", raw)
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert state_of(item) == State.RECEIVED


def test_a_form_body_is_unsupported(staff_client, item):
    response = staff_client("triager").post(url(item, "triage"), {"expected_state": "received"})
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    assert state_of(item) == State.RECEIVED


def test_only_post_is_allowed(staff_client, anonymous, item):
    assert anonymous.get(url(item, "triage")).status_code == 403
    client = staff_client("triager")
    assert client.get(url(item, "triage")).status_code == 405
    assert client.get(url(item)).status_code == 405


# --- Idempotency -----------------------------------------------------------------------------


def test_a_retry_with_the_same_key_does_not_act_twice(staff_client, item):
    client = staff_client("triager")
    first = send(client, item, "triage", {}, HTTP_IDEMPOTENCY_KEY="key-1")
    again = send(client, item, "triage", {}, HTTP_IDEMPOTENCY_KEY="key-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Transition.objects.filter(item=item).count() == 1
    assert IdempotencyRecord.objects.count() == 1
    # Without the key, the retry is a second, refused, transition.
    assert send(client, item, "triage", {}).status_code == 409
    reused = send(client, item, "start_review", {}, HTTP_IDEMPOTENCY_KEY="key-1")
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert state_of(item) == State.TRIAGED


def test_a_refused_request_stores_nothing_for_its_key(staff_client, item):
    client = staff_client("triager")
    refused = send(client, item, "decline", {}, HTTP_IDEMPOTENCY_KEY="key-2")
    assert refused.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    fixed = send(client, item, "decline", {"rationale": "No."}, HTTP_IDEMPOTENCY_KEY="key-3")
    assert fixed.status_code == 200


# --- Decisions -------------------------------------------------------------------------------


def test_two_reviewers_accept_a_root_clause_item_through_the_api(staff_client, file_item, put):
    clause = ClauseText.objects.filter(authority_rank=0, version__label="2025-09-12")
    root_item = put(file_item(clause=clause.order_by("position").first().anchor), State.TRIAGED)
    client = staff_client("reviewer", username="ana")
    assert send(client, root_item, "start_review", {"expected_state": "triaged"}).status_code == 200

    response = send(client, root_item, None, {"position": "accept", "rationale": "Clearer."})
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "tracking_number": root_item.tracking_number,
        "reviewer": "ana",
        "position": "accept",
        "rationale": "Clearer.",
        "review_round": 1,
        "approval": {"required": 2, "accepting": ["ana"], "recused": [], "met": False},
    }
    pending = send(client, root_item, "accept", {"rationale": "Clearer."})
    assert (pending.status_code, pending.json()["code"]) == (409, "approval_pending")

    client = staff_client("reviewer", username="ben")
    response = send(client, root_item, None, {"position": "accept", "rationale": "Agreed."})
    assert response.json()["approval"]["met"] is True
    done = send(
        client, root_item, "accept", {"rationale": "Clearer.", "expected_state": "in_review"}
    )
    assert done.status_code == 200
    assert done.json()["state"] == "accepted"


def test_recording_a_position_is_for_reviewers_in_review(staff_client, item, put):
    response = send(staff_client("triager"), item, None, {"position": "accept", "rationale": "x"})
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    client = staff_client("reviewer", username="rev")
    response = send(client, item, None, {"position": "accept", "rationale": "x"})
    assert (response.status_code, response.json()["code"]) == (409, "transition_conflict")
    put(item, State.IN_REVIEW)
    response = send(client, item, None, {"position": "approve", "rationale": "x"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    response = send(client, item, None, {"position": "accept"})
    assert (response.status_code, response.json()["errors"]) == (
        400,
        {"rationale": ["Give the reason for your position."]},
    )
    response = send(client, item, None, {"position": "recuse", "note": "x"})
    assert (response.status_code, response.json()["code"]) == (400, "unknown_field")
    assert not Decision.objects.exists()
    response = send(client, item, None, {"position": "recuse"})
    assert response.status_code == 201
    assert response.json()["approval"]["recused"] == ["rev"]


# --- Schema ----------------------------------------------------------------------------------


def test_the_operations_are_in_the_staff_schema_only(client, staff_client):
    paths = ("/api/v1/feedback/{tracking_number}/transitions/{action}/",
             "/api/v1/feedback/{tracking_number}/decisions/")  # fmt: skip
    public = client.get("/api/schema/?format=json").json()
    assert not set(paths) & set(public["paths"])
    assert not {"TransitionRequest", "DecisionRequest", "Decision"} & set(
        public["components"]["schemas"]
    )
    assert "/api/v1/feedback/{tracking_number}/" in public["paths"]

    staff = staff_client("triager").get("/api/schema/staff/?format=json").json()
    validate_schema(staff)
    transition = staff["paths"][paths[0]]["post"]
    assert set(transition["responses"]) == {
        "200", "400", "403", "404", "409", "413", "415", "422", "429",
    }  # fmt: skip
    assert transition["requestBody"]["content"]["application/json"]["examples"]
    examples = transition["responses"]["409"]["content"]["application/json"]["examples"]
    codes = {example["value"]["code"] for example in examples.values()}
    assert codes == {"transition_conflict", "approval_pending"}
    action = next(p for p in transition["parameters"] if p["name"] == "action")
    assert set(action["schema"]["enum"]) == {
        "triage", "start_review", "request_info", "provide_info", "mark_duplicate", "decline",
        "mark_spam", "defer", "accept", "incorporate", "reopen", "withdraw",
    }  # fmt: skip
    request = staff["components"]["schemas"]["TransitionRequest"]
    assert set(request["properties"]) == {"expected_state", "rationale", "duplicate_of", "message"}
    decision = staff["paths"][paths[1]]["post"]
    assert set(decision["responses"]) >= {"201", "400", "403", "404", "409"}
    assert staff["components"]["schemas"]["DecisionRequest"]["required"] == ["position"]
