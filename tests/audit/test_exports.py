"""Ledger exports (streamed JSON Lines and CSV, full and public) and the fast hashing path."""

import hashlib
import io
import json
import tracemalloc

import orjson
import pytest
from django.db import transaction
from django.http import StreamingHttpResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from modelspec_site.audit import chain, exports, fastchain
from modelspec_site.audit.models import Event
from modelspec_site.audit.selectors import ledger_rows
from modelspec_site.audit.services import EventSpec, audit_record, audit_record_many
from modelspec_site.audit.verify import audit_verify

from .chains import event_fields

# --- The fast encoder is byte-identical to the reference for every allowed value ----------

_text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters=["\x00"]), max_size=40
)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-chain.MAX_SAFE_INTEGER, chain.MAX_SAFE_INTEGER)
    | _text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(_json)
def test_orjson_sorted_is_the_canonical_encoding(value):
    reference = json.dumps(
        {"v": value}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert orjson.dumps({"v": value}, option=orjson.OPT_SORT_KEYS) == reference


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(_text, _json, max_size=6), label=_text.filter(bool))
def test_fast_hash_equals_the_reference_hash(data, label):
    fields = event_fields(3, "a" * 64, data=data, actor_label=label)
    row = (
        3,
        chain.format_timestamp(fields["created_at"]),
        "user",
        label,
        7,
        fields["action"],
        json.dumps(fields["subjects"]),
        "public",
        json.dumps(data),
        "a" * 64,
        "",
    )
    fast = fastchain.fast_hash(row)
    assert fast is None or fast == chain.event_hash(fields)


def test_rows_the_reference_refuses_never_pass_the_fast_path():
    """A float (or a too-large integer) written past audit_record: the fast encoder would
    hash it, the reference refuses it; the verdict must be the reference's. (The texts are as
    jsonb writes them: 1e+20 comes back as 100000000000000000000, never with an exponent.)"""
    for data_text in ('{"x": 1.5}', '{"x": 100000000000000000000}', '{"x": 90071992547409930}',
                      '{"x": [-1.0]}', '{"x": 18446744073709551617}'):  # fmt: skip
        data = orjson.loads(data_text)
        fields = {
            "seq": 1, "created_at": "2025-01-01T00:00:00.000000Z", "actor_kind": "system",
            "actor_label": "system", "actor_id": None, "action": "test.recorded",
            "subjects": [], "visibility": "public", "data": data, "prev_hash": chain.GENESIS_HASH,
        }  # fmt: skip
        forged = hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()
        row = (1, fields["created_at"], "system", "system", None, "test.recorded", "[]",
               "public", data_text, chain.GENESIS_HASH, forged)  # fmt: skip
        assert fastchain.fast_hash(row) is None
        result, _ = fastchain.verify_rows([row])
        assert not result.ok and result.first_bad_seq == 1
        assert "cannot be encoded" in result.reason


@pytest.mark.django_db
@pytest.mark.usefixtures("empty_ledger")
def test_fast_and_reference_verification_agree_on_the_database(user):
    with transaction.atomic():
        audit_record(actor=user, action="test.recorded", data={"version": "1.2", "e": "3e4"})
        audit_record(actor=None, action="test.recorded", data={"deep": [[[[{"a": "ü\u2028"}]]]]})
        audit_record(actor="anonymous", action="test.recorded", data={"big": 2**53 - 1})
    fast, reference = audit_verify(), audit_verify(reference=True)
    assert fast == reference
    assert fast.ok and fast.count == 3


# --- Exports ---------------------------------------------------------------------------------


def _bulk(n: int, *, pad: int = 0) -> None:
    with transaction.atomic():
        audit_record_many(
            EventSpec(
                actor=None,
                action="test.bulk",
                data={"i": i, "pad": "x" * pad},
                visibility="internal" if i % 5 == 0 else "public",
            )
            for i in range(n)
        )


def _body(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


@pytest.mark.django_db
@pytest.mark.usefixtures("empty_ledger")
def test_full_export_streams_every_event_and_round_trips(staff_client):
    _bulk(3000)
    client = staff_client("auditor", username="exporter")
    response = client.get("/staff/audit/export.jsonl")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/jsonl")
    assert "attachment" in response["Content-Disposition"]
    chunks = list(response.streaming_content)
    assert len(chunks) > 1  # produced piece by piece, not built whole
    assert max(len(c) for c in chunks) < exports.CHUNK_BYTES + 4096
    events = list(chain.read_export(io.StringIO(b"".join(chunks).decode())))
    assert len(events) == 3001  # and the export's own audit.exported event
    last = Event.objects.order_by("-seq").first()
    result = chain.verify_against_checkpoint(events, head_hash=last.hash, allow_redacted=False)
    assert result.ok and result.count == 3001
    assert events[-1]["action"] == "audit.exported"
    assert all("redacted" not in e for e in events)


@pytest.mark.django_db
@pytest.mark.usefixtures("empty_ledger")
def test_full_csv_export_round_trips(staff_client):
    _bulk(200)
    body = _body(staff_client("auditor", username="exporter").get("/staff/audit/export.csv"))
    text = body.decode()
    assert text.splitlines()[0] == ",".join(chain.CSV_COLUMNS)
    events = list(chain.read_export(io.StringIO(text, newline="")))
    head = Event.objects.order_by("-seq").first().hash
    assert chain.verify_against_checkpoint(events, head_hash=head).ok


@pytest.mark.django_db
@pytest.mark.usefixtures("empty_ledger")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_public_export_is_the_chain_without_content(client, make_user, fmt):
    staffer = make_user("secret-staffer", roles=["triager"], is_staff=True)
    member = make_user("member-one")
    with transaction.atomic():
        audit_record(actor=member, action="test.said", data={"t": "public words"},
                     subjects=[{"type": "feedback.item", "id": "8", "label": "LATER-HIDDEN"}])  # fmt: skip
        audit_record(actor=None, action="test.internal", data={"t": "INTERNAL-MARKER"},
                     subjects=[{"type": "feedback.item", "id": "9", "label": "HIDDEN-LABEL"}],
                     visibility="internal")  # fmt: skip
        audit_record(actor=staffer, action="test.triaged", data={"t": "by staff"})
        audit_record(actor="anonymous", action="test.said", data={"t": "anonymous words"})
    body = _body(client.get(f"/audit/export/public.{fmt}")).decode()
    for secret in ("INTERNAL-MARKER", "HIDDEN-LABEL", "secret-staffer", "by staff",
                   "LATER-HIDDEN", "member-one", "test.said"):  # fmt: skip
        assert secret not in body
    events = list(chain.read_export(io.StringIO(body, newline="")))
    assert all(e["redacted"] is True for e in events)
    assert [e["visibility"] for e in events] == ["public", "internal", "public", "public"]
    stored = list(Event.objects.order_by("seq"))
    assert [(e["seq"], e["hash"]) for e in events] == [(s.seq, s.hash) for s in stored]
    assert chain.verify_against_checkpoint(
        events, head_hash=stored[-1].hash, allow_redacted=True
    ).ok
    assert not chain.verify_chain(events).ok  # redacted entries need allow_redacted
    # A forged link is still caught in a redacted export.
    events[2]["prev_hash"] = "f" * 64
    assert chain.verify_chain(events, allow_redacted=True).first_bad_seq == 3
    # Anonymous downloads are not ledger events (anyone could flood the ledger).
    assert Event.objects.count() == 4


@pytest.mark.django_db
@pytest.mark.usefixtures("empty_ledger")
def test_export_memory_stays_flat_as_the_ledger_grows():
    """Peak Python memory while streaming 2,000 and 8,000 events of ~1 KB (rows fetched 500 at
    a time) is about the same: nothing holds all rows."""
    peaks = []
    for n in (2000, 6000):
        _bulk(n, pad=1000)
        tracemalloc.start()
        total = 0
        for chunk in exports.export_jsonl(public=False, rows=ledger_rows(chunk_size=500)):
            total += len(chunk)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert total > n * 1000
    # 8,000 events (~8 MB of output) in all, the second pass 4x the first's length.
    assert peaks[1] < peaks[0] * 1.5
    assert peaks[1] < 4 * 1024 * 1024


@pytest.mark.django_db
def test_api_export_is_auditors_only_and_recorded(api_client, auditor, user):
    assert api_client.get("/api/v1/audit/events/export/").status_code in (401, 403)
    api_client.force_authenticate(user)
    response = api_client.get("/api/v1/audit/events/export/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    api_client.force_authenticate(auditor)
    response = api_client.get("/api/v1/audit/events/export/")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    last = json.loads(lines[-1])
    assert last["action"] == "audit.exported" and last["actor_label"] == auditor.username
    assert last["visibility"] == "internal"
    assert last["data"]["scope"] == "full" and last["data"]["format"] == "jsonl"


def test_unknown_formats_are_refused():
    with pytest.raises(ValueError, match="unknown export format"):
        exports.export_stream("xml", public=True)
