"""The lean path (feedback.api.lean) answers plain anonymous submissions before DRF does. It may
take a payload only when the serializer would accept it with the same values, and its answer
must be the DRF view's answer: same status, headers and body. Everything else goes to DRF."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback import fast_submit
from feedback.api import lean
from feedback.api.serializers import FeedbackSubmitSerializer
from feedback.models import FeedbackItem, IdempotencyRecord
from feedback.services import LIMITS
from modelspec_site.audit.models import Event

from .conftest import CLAUSE, PASSAGE, post_json, valid_payload

_REFUSED_OR_CHANGED = re.compile(r"[\r\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# --- The validator against the serializer -----------------------------------------------------

# Strings near every edge the serializer has: empty, blank, surrounding whitespace, CR, control
# and format characters, NUL, lone surrogates, non-ASCII, and lengths around each limit.
EDGE_STRINGS = [
    "",
    " ",
    "\t\n",
    " padded ",
    "a\rb",
    "a\r\nb",
    "\x1f",
    " \x1f ",
    "nul\x00",
    "bell\x07",
    "\u202eright-to-left",
    "lone \ud800",
    "café ☕",
    "\u2028line separator",
    "x" * 64,
    "x" * 65,
    "x" * 128,
    "x" * 129,
    "x" * 200,
    "x" * 201,
    " " + "x" * 200 + " ",
    "x" * 500,
    "x" * 501,
]
EDGE_TEXT = st.sampled_from(EDGE_STRINGS)
TEXT = st.one_of(EDGE_TEXT, st.text(max_size=30))
ANY_VALUE = st.one_of(
    TEXT,
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10_000_001),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
POSITION = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=12),
    st.sampled_from([10_000_000, 10_000_001, 1.0, "3"]),
)
QUOTE = st.one_of(
    st.none(),
    ANY_VALUE,
    st.fixed_dictionaries(
        {},
        optional={
            "exact": st.one_of(TEXT, st.sampled_from(["x" * 5000, "x" * 5001])),
            "prefix": TEXT,
            "suffix": TEXT,
            "start": POSITION,
            "end": POSITION,
            "other": st.just(1),
        },
    ),
)
STRING_FIELDS = [
    "spec",
    "version",
    "clause",
    "summary",
    "body",
    "suggested_text",
    "affiliation",
    "conflict_of_interest",
    "submitter_name",
]
CHOICE = st.one_of(
    st.sampled_from(["unclear", "error", "public", "internal", "medium", "high", "", "Unclear"]),
    ANY_VALUE,
)
FIELD_VALUES = {
    **{name: st.one_of(TEXT, ANY_VALUE) for name in STRING_FIELDS},
    "kind": CHOICE,
    "severity": CHOICE,
    "visibility": CHOICE,
    "example": st.one_of(st.none(), TEXT),
    "example_conversation": st.one_of(st.just([]), ANY_VALUE),
    "submitter_email": st.one_of(st.sampled_from(["", "  ", "a@example.org"]), TEXT),
    "quote": QUOTE,
    "unknown": st.just("x"),
}
# A valid submission with one to three fields changed or removed: most examples stay close
# enough to valid that both sides accept them, which is where a difference would show.
PAYLOAD = st.lists(
    st.sampled_from(sorted(FIELD_VALUES)), min_size=1, max_size=3, unique=True
).flatmap(
    lambda names: st.tuples(
        st.fixed_dictionaries({name: FIELD_VALUES[name] for name in names}),
        st.sets(st.sampled_from(names), max_size=1),
    ).map(
        lambda changed: {
            key: value
            for key, value in (valid_payload(quote={"exact": PASSAGE}) | changed[0]).items()
            if key not in changed[1]
        }
    )
)


def _serializer_data(payload: dict) -> dict | None:
    serializer = FeedbackSubmitSerializer(data=payload)
    if not serializer.is_valid():
        return None
    return json.loads(json.dumps(serializer.validated_data))


def _agree(payload: dict) -> bool:
    """The property: the lean validator takes `payload` only as the serializer does. Returns
    whether it took it."""
    taken = lean.submission_fields(payload)
    if taken is not None:
        assert _serializer_data(payload) == json.loads(json.dumps(taken)), payload
    return taken is not None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=PAYLOAD)
def test_the_lean_validator_takes_only_what_the_serializer_takes_unchanged(payload):
    _agree(payload)


EDGE_VALUES = [*EDGE_STRINGS, None, 1, 1.5, True, [], {}]
QUOTE_EDGES = [
    *(
        {"exact": PASSAGE, name: value}
        for name in ("exact", "prefix", "suffix")
        for value in EDGE_VALUES
    ),
    *(
        {"exact": PASSAGE, "start": start, "end": end}
        for start in (None, 0, 3, 9, True, 10_000_000, 10_000_001, -1)
        for end in (None, 0, 3, 9, 1.0)
    ),
    {"exact": "x" * 5000},
    {"exact": "x" * 5001},
    {"prefix": "x"},
    {"exact": PASSAGE, "other": 1},
    "text",
    [],
]


def test_every_edge_of_every_field_agrees():
    """Each string field and passage part set to each edge value in turn (deterministic)."""
    cases = [valid_payload(**{name: value}) for name in STRING_FIELDS for value in EDGE_VALUES]
    cases += [valid_payload(quote=quote) for quote in QUOTE_EDGES]
    taken = sum(_agree(payload) for payload in cases)
    # Enough of them are taken for the comparison to mean something.
    assert taken >= len(cases) // 4


@settings(max_examples=300, deadline=None)
@given(
    summary=st.text(min_size=1, max_size=40).filter(lambda s: s.strip()),
    body=st.text(max_size=40),
)
def test_ordinary_text_is_taken(summary, body):
    """Text the serializer accepts without changing it (no CR) and without a character it might
    refuse goes the lean way. (A blank made of control characters, which the serializer takes
    as empty, is left to it.)"""
    payload = valid_payload(summary=summary, body=body)
    expected = _serializer_data(payload)
    taken = lean.submission_fields(payload)
    if expected is not None and not _REFUSED_OR_CHANGED.search(summary + body):
        assert taken is not None
        assert json.loads(json.dumps(taken)) == expected


@pytest.mark.parametrize(
    "payload",
    [
        valid_payload(),
        valid_payload(body="", severity="high", submitter_name="Ada", affiliation="Lab"),
        valid_payload(quote={"exact": PASSAGE}),
        valid_payload(quote={"exact": PASSAGE, "prefix": "x ", "suffix": "", "start": 3, "end": 9}),
        valid_payload(quote=None, example=None, example_conversation=[], submitter_email=""),
        valid_payload(visibility="public"),
    ],
)
def test_the_common_shapes_are_taken(payload):
    assert lean.submission_fields(payload) is not None


@pytest.mark.parametrize(
    "payload",
    [
        valid_payload(submitter_email="a@example.org"),  # a receipt to queue: the full path
        valid_payload(example="some_example"),
        valid_payload(example_conversation=[{"role": "user", "content": "hi"}]),
        valid_payload(visibility="internal"),
        valid_payload(summary="two\r\nlines"),  # normalised by the serializer
        valid_payload(extra=1),
        valid_payload(summary="x" * (LIMITS["summary"] + 1)),
        {k: v for k, v in valid_payload().items() if k != "kind"},
    ],
)
def test_everything_else_is_left_to_the_serializer(payload):
    assert lean.submission_fields(payload) is None


# --- Whole requests ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_cache():
    fast_submit.cache_clear()
    yield
    fast_submit.cache_clear()


@pytest.fixture
def answered_by(monkeypatch):
    """Records which path answered each request: 'lean' or 'drf'."""
    seen: list[str] = []
    real = lean.respond

    def spy(request):
        response = real(request)
        seen.append("lean" if response is not None else "drf")
        return response

    monkeypatch.setattr(lean, "respond", spy)
    return seen


@pytest.fixture
def drf_only(monkeypatch):
    monkeypatch.setattr(lean, "respond", lambda request: None)


def _shape(response) -> dict:
    """What must match between the paths: status, headers (values that name the item
    replaced), and the body's keys with their types."""
    body = response.json()
    number = body.get("tracking_number", "")
    headers = {
        name.lower(): value.replace(number, "NUMBER") if number else value
        for name, value in response.headers.items()
        if name.lower() not in {"content-length"}
    }
    return {
        "status": response.status_code,
        "headers": headers,
        "body": {key: type(value).__name__ for key, value in body.items()},
        "url": body.get("url", "").replace(number, "NUMBER"),
        "html_url": body.get("html_url", "").replace(number, "NUMBER"),
    }


@pytest.mark.django_db
def test_a_lean_receipt_is_the_drf_receipt(anonymous, answered_by, monkeypatch):
    key = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}
    fast = post_json(anonymous, valid_payload(summary="lean"), **key)
    assert answered_by == ["lean"]
    monkeypatch.setattr(lean, "respond", lambda request: None)
    full = post_json(anonymous, valid_payload(summary="drf"), HTTP_IDEMPOTENCY_KEY="other")
    assert fast.status_code == full.status_code == 201
    assert _shape(fast) == _shape(full)
    assert fast["Content-Type"] == "application/json"
    assert fast["Cache-Control"] == "no-store"
    assert fast["Location"] == fast.json()["url"]
    # The stored item and event are those of any submission.
    item = FeedbackItem.objects.get(tracking_number=fast.json()["tracking_number"])
    assert item.summary == "lean" and item.clause_text.anchor == CLAUSE
    assert (
        Event.objects.filter(
            action="feedback.submitted", data__tracking_number=item.tracking_number
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_a_lean_replay_is_the_drf_replay(anonymous, answered_by, monkeypatch):
    key = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}
    first = post_json(anonymous, valid_payload(), **key)
    again = post_json(anonymous, valid_payload(), **key)
    assert answered_by == ["lean", "lean"]
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()  # the follow token too, unsealed with the key
    monkeypatch.setattr(lean, "respond", lambda request: None)
    full = post_json(anonymous, valid_payload(), **key)
    assert _shape(again) == _shape(full)
    assert full.json() == first.json()
    assert FeedbackItem.objects.count() == IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_a_reused_key_is_explained_by_drf(anonymous, answered_by):
    key = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}
    assert post_json(anonymous, valid_payload(), **key).status_code == 201
    reused = post_json(anonymous, valid_payload(summary="something else"), **key)
    assert answered_by == ["lean", "drf"]
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert FeedbackItem.objects.count() == 1


@pytest.mark.parametrize(
    ("extra", "expected_status"),
    [
        ({"HTTP_ORIGIN": "https://elsewhere.example"}, 403),
        ({"HTTP_ACCEPT": "text/html"}, 406),
        ({"HTTP_AUTHORIZATION": "Token nonsense"}, 403),
        ({"HTTP_IDEMPOTENCY_KEY": "é"}, 400),
    ],
)
@pytest.mark.django_db
def test_requests_out_of_the_ordinary_go_to_drf(anonymous, answered_by, extra, expected_status):
    response = post_json(anonymous, valid_payload(), **extra)
    assert answered_by == ["drf"]
    assert response.status_code == expected_status
    assert FeedbackItem.objects.count() == 0


@pytest.mark.django_db
def test_a_signed_in_person_goes_to_drf(client, django_user_model, answered_by):
    client.force_login(django_user_model.objects.create_user("ada", "ada@example.org", "pw"))
    response = post_json(client, valid_payload())
    assert answered_by == ["drf"]
    assert response.status_code == 201


@pytest.mark.django_db
def test_a_refusal_is_explained_by_drf_and_counted_once(anonymous, answered_by, settings):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "2/minute"}
    bad = post_json(anonymous, valid_payload(clause="no_such_clause"))
    assert bad.status_code == 400
    assert answered_by == ["drf"]
    assert post_json(anonymous, valid_payload()).status_code == 201
    assert post_json(anonymous, valid_payload()).status_code == 429  # two writes counted


@pytest.mark.django_db
def test_the_schema_still_documents_the_collection(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/feedback/"])
