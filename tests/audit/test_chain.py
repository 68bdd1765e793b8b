"""The canonical encoding and chain verification, without a database."""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelspec_site.audit import chain

from .chains import event_fields, make_chain, sealed

VECTOR = {
    "seq": 1,
    "created_at": datetime(2025, 9, 12, 10, 0, 0, tzinfo=UTC),
    "actor_kind": "user",
    "actor_label": "zoë",
    "actor_id": 7,
    "action": "version.published",
    "subjects": [{"type": "revisions.version", "id": "42", "label": "model-spec 2025-09-12"}],
    "visibility": "public",
    "data": {"b": 1, "a": [True, None, "x"]},
    "prev_hash": "0" * 64,
}
VECTOR_TEXT = (
    '{"action":"version.published","actor_id":"7","actor_kind":"user","actor_label":"zoë",'
    '"created_at":"2025-09-12T10:00:00.000000Z","data":{"a":[true,null,"x"],"b":1},'
    '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,'
    '"subjects":[{"id":"42","label":"model-spec 2025-09-12","type":"revisions.version"}],'
    '"visibility":"public"}'
)
# Computed outside Python: printf '%s' "$VECTOR_TEXT" | sha256sum
VECTOR_HASH = "f772ba896e3b7d1a703c76d97baa7b81e9105333e78178642500fcae9e296c57"


def reordered(value: Any) -> Any:
    """The same JSON value with every object's keys in reverse insertion order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


# --- canonical encoding ---


def test_known_answer_vector():
    assert chain.canonical_bytes(VECTOR) == VECTOR_TEXT.encode("utf-8")
    assert chain.event_hash(VECTOR) == VECTOR_HASH
    assert hashlib.sha256(VECTOR_TEXT.encode()).hexdigest() == VECTOR_HASH


def test_encoding_ignores_key_order_and_extra_keys():
    shuffled = reordered(VECTOR) | {"hash": "ignored", "id": 99}
    assert chain.canonical_bytes(shuffled) == chain.canonical_bytes(VECTOR)


def test_created_at_is_utc_with_microseconds_whatever_the_zone():
    paris = timezone(timedelta(hours=2))
    local = VECTOR | {"created_at": datetime(2025, 9, 12, 12, 0, 0, tzinfo=paris)}
    as_text = VECTOR | {"created_at": "2025-09-12T10:00:00.000000Z"}
    assert chain.event_hash(local) == VECTOR_HASH
    assert chain.event_hash(as_text) == VECTOR_HASH
    assert chain.format_timestamp(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000000Z"


def test_every_hashed_field_changes_the_hash():
    changed = {
        "seq": 2,
        "created_at": VECTOR["created_at"] + timedelta(microseconds=1),
        "actor_kind": "system",
        "actor_label": "zoe",
        "actor_id": 8,
        "action": "version.imported",
        "subjects": [],
        "visibility": "internal",
        "data": {"b": 2, "a": [True, None, "x"]},
        "prev_hash": "1" * 64,
    }
    assert set(changed) == set(chain.HASHED_FIELDS)
    for name, value in changed.items():
        variant = VECTOR | {name: value}
        if name == "actor_kind":
            variant["actor_id"] = None
        assert chain.event_hash(variant) != VECTOR_HASH, name


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"score": 0.5}, "floats are not allowed"),
        ({"amount": Decimal("1.5")}, "Decimal is not plain JSON"),
        ({"when": datetime(2025, 1, 1, tzinfo=UTC)}, "datetime is not plain JSON"),
        ({"tags": {"a"}}, "set is not plain JSON"),
        ({1: "one"}, "keys must be strings"),
        ({"big": 2**53}, "outside"),
        ({"nul": "a\x00b"}, r"U\+0000"),
        ({"surrogate": "\ud800"}, "lone surrogate"),
        ({"nan": float("nan")}, "floats are not allowed"),
    ],
)
def test_non_json_data_is_refused_with_a_clear_error(data, message):
    with pytest.raises(ValueError, match=message):
        chain.canonical_bytes(VECTOR | {"data": data})


def test_too_deep_data_is_refused():
    deep: dict = {}
    node = deep
    for _ in range(chain.MAX_DEPTH + 1):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(ValueError, match="nested deeper"):
        chain.canonical_bytes(VECTOR | {"data": deep})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"created_at": datetime(2025, 9, 12)}, "timezone-aware"),
        ({"created_at": "2025-09-12T10:00:00Z"}, "created_at text"),
        ({"action": "Version.Published"}, "namespaced"),
        ({"action": "published"}, "namespaced"),
        ({"actor_kind": "robot"}, "actor_kind"),
        ({"actor_kind": "system"}, "actor_id is required for user actors and only"),
        ({"actor_id": None}, "actor_id is required"),
        ({"visibility": "secret"}, "visibility"),
        ({"prev_hash": "A" * 64}, "prev_hash"),
        ({"seq": 0}, "seq"),
        ({"data": []}, "data must be a JSON object"),
        ({"subjects": [{"type": "revisions.version", "id": "1"}]}, "exactly the keys"),
        ({"subjects": [{"type": "Version", "id": "1", "label": "x"}]}, "app_label.model_name"),
        ({"subjects": [{"type": "a.b", "id": 1, "label": "x"}]}, "must be strings"),
    ],
)
def test_malformed_fields_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        chain.canonical_bytes(VECTOR | changes)


def test_missing_field_is_refused():
    incomplete = {key: value for key, value in VECTOR.items() if key != "visibility"}
    with pytest.raises(ValueError, match="missing fields: visibility"):
        chain.canonical_bytes(incomplete)


json_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-chain.MAX_SAFE_INTEGER, chain.MAX_SAFE_INTEGER)
    | json_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_text, inner, max_size=4),
    max_leaves=20,
)


@given(data=st.dictionaries(json_text, json_values, max_size=6))
def test_any_plain_json_encodes_independently_of_key_order(data):
    event = VECTOR | {"data": data}
    encoded = chain.canonical_bytes(event)
    assert chain.canonical_bytes(reordered(event)) == encoded
    assert json.loads(encoded)["data"] == data


any_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)  # NUL and lone surrogates included
    | st.binary(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6) | st.integers(0, 3), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(value=any_values)
def test_the_fast_check_never_accepts_what_the_exact_check_refuses(value):
    # `_plain` skips the exact check when it is sure; it must never be sure wrongly.
    if chain._plain(value):
        chain._check_json(value, "data")  # must not raise
    try:
        chain._check_json(value, "data")
    except ValueError:
        assert not chain._plain(value)


def test_the_fast_check_defers_on_depth():
    deep: list = []
    for _ in range(chain.MAX_DEPTH + 1):
        deep = [deep]
    assert not chain._plain(deep)
    with pytest.raises(ValueError, match="nested deeper"):
        chain._check_json(deep, "data")


# --- verify_chain ---


def assert_fails_at(result: chain.VerifyResult, seq: int, reason: str, events: list) -> None:
    assert not result.ok
    assert result.first_bad_seq == seq
    assert reason in result.reason
    assert result.count == seq - 1
    assert result.head_hash == (events[seq - 2]["hash"] if seq > 1 else chain.GENESIS_HASH)


def test_a_good_chain_verifies():
    events = make_chain(5)
    result = chain.verify_chain(events)
    assert result == chain.VerifyResult(True, 5, events[-1]["hash"], None, "")


def test_an_empty_chain_verifies_with_the_genesis_head():
    assert chain.verify_chain([]) == chain.VerifyResult(True, 0, "0" * 64)


def test_tampered_data_is_caught_at_that_event():
    events = make_chain(5)
    events[2]["data"] = events[2]["data"] | {"after": {"state": "declined"}}
    assert_fails_at(chain.verify_chain(events), 3, "hash does not match", events)


def test_tampered_hash_is_caught():
    events = make_chain(5)
    events[3]["hash"] = "f" * 64
    assert_fails_at(chain.verify_chain(events), 4, "hash does not match", events)


def test_swapped_events_are_caught():
    events = make_chain(5)
    events[1], events[2] = events[2], events[1]
    assert_fails_at(chain.verify_chain(events), 2, "expected seq 2, found 3", events)


def test_swapped_contents_with_seq_kept_are_caught():
    events = make_chain(5)
    for key in ("data", "subjects"):
        events[1][key], events[2][key] = events[2][key], events[1][key]
    assert_fails_at(chain.verify_chain(events), 2, "hash does not match", events)


def test_deleted_middle_event_is_caught():
    events = make_chain(5)
    del events[2]
    assert_fails_at(chain.verify_chain(events), 3, "events are missing", events)


def test_deleted_first_event_is_caught():
    events = make_chain(3)
    del events[0]
    assert_fails_at(chain.verify_chain(events), 1, "expected seq 1, found 2", events)


def test_deleted_and_renumbered_is_caught():
    events = make_chain(5)
    del events[2]
    for event in events[2:]:
        event["seq"] -= 1
    assert_fails_at(chain.verify_chain(events), 3, "prev_hash does not match", events)


def test_inserted_event_is_caught_at_the_next_one():
    events = make_chain(5)
    forged = sealed(event_fields(3, events[1]["hash"], data={"forged": True}))
    events.insert(2, forged)
    result = chain.verify_chain(events)
    assert_fails_at(result, 4, "expected seq 4, found 3", events)


def test_inserted_and_renumbered_is_caught():
    events = make_chain(5)
    forged = sealed(event_fields(3, events[1]["hash"], data={"forged": True}))
    events.insert(2, forged)
    for event in events[3:]:
        event["seq"] += 1
    assert_fails_at(chain.verify_chain(events), 4, "prev_hash does not match", events)


def test_wrong_prev_hash_is_caught_even_when_the_event_is_resealed():
    events = make_chain(5)
    events[3] = sealed(event_fields(4, "e" * 64))
    assert_fails_at(chain.verify_chain(events), 4, "prev_hash does not match", events)


def test_wrong_genesis_is_caught():
    events = [sealed(event_fields(1, "1" * 64))]
    assert_fails_at(chain.verify_chain(events), 1, "prev_hash does not match", events)


def test_unencodable_stored_event_is_reported_not_raised():
    events = make_chain(3)
    events[1]["data"] = {"score": 0.5}
    assert_fails_at(chain.verify_chain(events), 2, "cannot be encoded: data.score", events)


def test_a_rewritten_suffix_verifies_but_its_head_differs():
    """What the chain alone cannot catch: a rewrite that re-seals every later event. Only a
    head published earlier (a checkpoint) shows it, so the head must change."""
    original = make_chain(5)
    rewritten = original[:2]
    for seq in range(3, 6):
        rewritten.append(sealed(event_fields(seq, rewritten[-1]["hash"], data={"n": -seq})))
    result = chain.verify_chain(rewritten)
    assert result.ok
    assert result.head_hash != original[-1]["hash"]


def test_a_truncated_tail_verifies_with_a_shorter_count_and_an_older_head():
    events = make_chain(5)
    result = chain.verify_chain(events[:3])
    assert (result.ok, result.count, result.head_hash) == (True, 3, events[2]["hash"])


def test_verification_streams_and_stops_at_the_first_bad_event():
    events = make_chain(4)
    events[1]["data"] = {"n": 999}
    pulled: list[int] = []

    def stream():
        for event in events:
            pulled.append(event["seq"])
            yield event
        raise AssertionError("read past the first bad event")

    result = chain.verify_chain(stream())
    assert result.first_bad_seq == 2
    assert pulled == [1, 2]
