"""The bad-input corpus (RELIABILITY.md, "input" and "mass assignment" rows): every bad body
gets a 4xx with a stable code and stores nothing — no item, no ledger event, no idempotency
record — and never a 5xx."""

import json

import pytest

from feedback.models import FeedbackItem

from .conftest import URL, valid_payload

pytestmark = pytest.mark.django_db


def _without(name):
    data = valid_payload()
    del data[name]
    return data


def _deep(depth):
    return '{"summary": ' + "[" * depth + "]" * depth + "}"


TURN = {"role": "user", "content": "hi"}

# (case id, body: dict -> JSON, or str/bytes sent as is, expected status, expected code)
CORPUS = [
    *[(f"missing {name}", _without(name), 400, "invalid")
      for name in ("spec", "version", "clause", "kind", "summary")],
    ("empty object", {}, 400, "invalid"),
    ("empty summary", valid_payload(summary=""), 400, "invalid"),
    ("blank summary", valid_payload(summary="   \n\t"), 400, "invalid"),
    ("summary over 200", valid_payload(summary="x" * 201), 400, "invalid"),
    ("body over 20000", valid_payload(body="x" * 20_001), 400, "invalid"),
    ("suggested text over 20000", valid_payload(suggested_text="x" * 20_001), 400, "invalid"),
    ("affiliation over 200", valid_payload(affiliation="x" * 201), 400, "invalid"),
    ("name over 100", valid_payload(submitter_name="x" * 101), 400, "invalid"),
    ("41 turns", valid_payload(example_conversation=[TURN] * 41), 400, "invalid"),
    ("turn over 10000",
     valid_payload(example_conversation=[TURN | {"content": "x" * 10_001}]), 400, "invalid"),
    ("turn with a bad role",
     valid_payload(example_conversation=[TURN | {"role": "narrator"}]), 400, "invalid"),
    ("turn with a bad label",
     valid_payload(example_conversation=[TURN | {"label": "GREAT"}]), 400, "invalid"),
    ("turn with an unknown key",
     valid_payload(example_conversation=[TURN | {"candidate": 1}]), 400, "unknown_field"),
    ("turn that is a string", valid_payload(example_conversation=["hi"]), 400, "invalid"),
    ("empty turn content",
     valid_payload(example_conversation=[TURN | {"content": ""}]), 400, "invalid"),
    ("NUL in summary", valid_payload(summary="a\x00b"), 400, "invalid"),
    ("NUL in body", valid_payload(body="a\u0000b"), 400, "invalid"),
    ("NUL in a turn", valid_payload(example_conversation=[TURN | {"content": "\x00"}]),
     400, "invalid"),
    ("NUL in a quote", valid_payload(quote={"exact": "a\x00"}), 400, "invalid"),
    ("NUL in a key", '{"summ\\u0000ary": "x"}', 400, "unknown_field"),
    ("lone surrogate in summary",
     json.dumps(valid_payload()).replace('"What', '"\\ud800What'), 400, "invalid"),
    ("lone low surrogate in body",
     json.dumps(valid_payload()).replace('"The ordering', '"\\udfffThe ordering'), 400, "invalid"),
    ("lone surrogate in a key",
     json.dumps(valid_payload())[:-1] + ', "\\ud800": "x"}', 400, "unknown_field"),
    ("bell character", valid_payload(summary="ding\x07"), 400, "invalid"),
    ("escape character", valid_payload(body="\x1b[31mred"), 400, "invalid"),
    ("DEL character", valid_payload(body="a\x7f"), 400, "invalid"),
    ("C1 control character", valid_payload(body="a\x85b"), 400, "invalid"),
    ("summary is a number", valid_payload(summary=123), 400, "invalid"),
    ("summary is a list", valid_payload(summary=["x"]), 400, "invalid"),
    ("summary is null", valid_payload(summary=None), 400, "invalid"),
    ("body is an object", valid_payload(body={"x": 1}), 400, "invalid"),
    ("kind is a number", valid_payload(kind=1), 400, "invalid"),
    ("unknown kind", valid_payload(kind="complaint"), 400, "invalid"),
    ("unknown severity", valid_payload(severity="urgent"), 400, "invalid"),
    ("visibility is true", valid_payload(visibility=True), 400, "invalid"),
    ("unknown visibility", valid_payload(visibility="secret"), 400, "invalid"),
    ("spec is null", valid_payload(spec=None), 400, "invalid"),
    ("clause is a number", valid_payload(clause=7), 400, "invalid"),
    ("conversation is a string", valid_payload(example_conversation="hi"), 400, "invalid"),
    ("conversation is an object", valid_payload(example_conversation={"0": TURN}), 400,
     "invalid"),
    ("quote is a string", valid_payload(quote="applicable"), 400, "invalid"),
    ("quote without exact", valid_payload(quote={"prefix": "x"}), 400, "invalid"),
    ("quote start is a string", valid_payload(quote={"exact": "x", "start": "5"}), 400,
     "invalid"),
    ("quote start is a boolean", valid_payload(quote={"exact": "x", "start": True}), 400,
     "invalid"),
    ("quote start negative", valid_payload(quote={"exact": "x", "start": -1}), 400, "invalid"),
    ("quote start huge", valid_payload(quote={"exact": "x", "start": 10**30}), 400, "invalid"),
    ("quote end before start", valid_payload(quote={"exact": "x", "start": 5, "end": 5}), 400,
     "invalid"),
    ("quote with an unknown key", valid_payload(quote={"exact": "x", "url": "y"}), 400,
     "unknown_field"),
    ("bad e-mail", valid_payload(submitter_email="not-an-address"), 400, "invalid"),
    ("unknown clause", valid_payload(clause="no_such_clause"), 400, "unknown_target"),
    ("unknown example", valid_payload(example="no-such-example"), 400, "unknown_target"),
    ("unknown spec", valid_payload(spec="no-such-spec"), 400, "unknown_target"),
    ("unknown version", valid_payload(version="2000-01-01"), 400, "unknown_target"),
    ("quote not in the text", valid_payload(quote={"exact": "not in the clause at all"}), 400,
     "quote_mismatch"),
    ("a JSON array", [valid_payload()], 400, "not_an_object"),
    ("a JSON string", '"summary"', 400, "not_an_object"),
    ("a JSON number", "42", 400, "not_an_object"),
    ("JSON null", "null", 400, "not_an_object"),
    ("duplicate keys",
     '{"summary": "a", "summary": "b", "spec": "model-spec", "version": "2025-09-12",'
     ' "clause": "follow_all_applicable_instructions", "kind": "unclear"}', 400, "parse_error"),
    ("duplicate keys in a turn",
     json.dumps(valid_payload(example_conversation=[TURN])).replace(
         '"role": "user"', '"role": "user", "role": "tool"'), 400, "parse_error"),
    ("deep nesting", _deep(100_000), 400, "parse_error"),
    ("moderate nesting", _deep(20), 400, "parse_error"),
    ("NaN", '{"summary": NaN}', 400, "parse_error"),
    ("Infinity", '{"summary": Infinity}', 400, "parse_error"),
    ("a huge integer", '{"summary": ' + "9" * 5000 + "}", 400, "parse_error"),
    ("truncated JSON", json.dumps(valid_payload())[:-5], 400, "parse_error"),
    ("whitespace body", b"  \n", 400, "parse_error"),
    ("invalid UTF-8", b'{"summary": "\xff\xfe"}', 400, "parse_error"),
    ("UTF-8 byte order mark", b"\xef\xbb\xbf" + json.dumps(valid_payload()).encode(), 400,
     "parse_error"),
    ("1 MB body", valid_payload(body="x" * 1_000_000), 413, "request_too_large"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [case[1:] for case in CORPUS],
    ids=[case[0] for case in CORPUS],
)
def test_bad_bodies_are_refused_and_store_nothing(anonymous, post, count, body, status, code):
    before = count()
    response = post(anonymous, body)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["code"] == code, data
    assert data["detail"]
    assert count() == before


def test_the_corpus_fields_name_what_is_wrong(anonymous, post):
    data = post(anonymous, valid_payload(summary="x" * 201, body="a\x00b")).json()
    assert data["errors"] == {
        "summary": ["Ensure this field has no more than 200 characters."],
        "body": ["NUL characters are not allowed."],
    }
    data = post(anonymous, valid_payload(example_conversation=[TURN, TURN | {"role": "x"}]))
    assert data.json()["errors"] == {
        "example_conversation": {
            "1": {"role": ["Choose one of: system, developer, user, assistant, tool."]}
        }
    }
    lone = json.dumps(valid_payload()).replace('"What', '"\\ud800What')
    assert post(anonymous, lone).json()["errors"]["summary"] == [
        "Lone surrogate characters are not allowed (the text is not valid Unicode)."
    ]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "application/json; charset=latin-1", "application/xml", ""],
)  # fmt: skip
def test_other_content_types_are_415(anonymous, count, content_type):
    before = count()
    response = anonymous.generic(
        "POST", URL, json.dumps(valid_payload()).encode(), content_type=content_type
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert count() == before


def test_an_empty_json_body_is_a_parse_error(anonymous, count):
    before = count()
    response = anonymous.generic("POST", URL, b"", CONTENT_TYPE="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert count() == before


def test_json_with_an_explicit_utf8_charset_is_fine(anonymous):
    response = anonymous.generic(
        "POST",
        URL,
        json.dumps(valid_payload()).encode(),
        content_type="application/json; charset=UTF-8",
    )
    assert response.status_code == 201


def test_a_submission_with_every_field_at_its_limit_is_accepted(anonymous, post):
    full = valid_payload(
        summary="s" * 200,
        body="b" * 20_000,
        suggested_text="t" * 20_000,
        example_conversation=[{"role": "user", "content": "c" * 10_000, "label": "OK"}] * 40,
        affiliation="a" * 200,
        conflict_of_interest="c" * 2_000,
        submitter_name="n" * 100,
        submitter_email="someone@example.org",
    )
    response = post(anonymous, full)
    assert response.status_code == 201, response.content[:300]
    item = FeedbackItem.objects.get(tracking_number=response.json()["tracking_number"])
    assert len(item.example_conversation) == 40
    assert item.summary == "s" * 200


# --- Mass assignment -------------------------------------------------------------------------

ACCEPTED = {
    "spec", "version", "clause", "example", "kind", "severity", "summary", "body",
    "suggested_text", "example_conversation", "affiliation", "conflict_of_interest",
    "submitter_name", "submitter_email", "visibility",
}  # fmt: skip


def _model_field_names():
    names = set()
    for field in FeedbackItem._meta.get_fields():
        if field.concrete:
            names.update({field.name, field.attname})
        elif not field.auto_created or field.is_relation:
            names.add(field.name)
    return sorted(names - ACCEPTED)


PLAUSIBLE = {
    "state": "accepted", "tracking_number": "MS-2025-99999", "hidden": True,
    "hidden_reason": "x", "endorsement_count": 1000, "report_count": 0, "submitter": 1,
    "submitter_id": 1, "follow_token_hash": "0" * 64, "id": 1, "created_at": "2020-01-01T00:00Z",
}  # fmt: skip


@pytest.mark.parametrize("name", _model_field_names())
def test_model_fields_cannot_be_mass_assigned(anonymous, post, count, name):
    before = count()
    response = post(anonymous, valid_payload(**{name: PLAUSIBLE.get(name, "x")}))
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    assert name in response.json()["errors"]
    assert count() == before


def test_the_mass_assignment_list_covers_the_dangerous_fields():
    names = set(_model_field_names())
    assert {
        "state", "tracking_number", "hidden", "hidden_reason", "hidden_at", "endorsement_count",
        "report_count", "submitter", "submitter_id", "follow_token_hash", "clause_text",
        "clause_text_id", "position_start", "quote_exact", "search", "created_at", "id",
        "endorsements", "reports",
    } <= names  # fmt: skip


def test_a_valid_payload_with_the_public_visibility_still_works(anonymous, post):
    assert post(anonymous, valid_payload(visibility="public")).status_code == 201


def test_nothing_differs_after_refused_mass_assignment(anonymous, post, file_item):
    item = file_item()
    snapshot = list(FeedbackItem.objects.order_by("pk").values())
    for name, value in PLAUSIBLE.items():
        post(anonymous, valid_payload(**{name: value, "summary": "attempt"}))
    post(anonymous, valid_payload(tracking_number=item.tracking_number))
    assert list(FeedbackItem.objects.order_by("pk").values()) == snapshot
