"""Every event keeps the exact text it was hashed over, and `verify_audit` hashes that text.

Each write path stores it; COPY's escapes are undone exactly; the migration fills it for events
that predate it, without hiding an event that was already altered."""

import hashlib
import importlib
from types import SimpleNamespace

import pytest
from django.db import connection, transaction

from modelspec_site.audit import chain
from modelspec_site.audit.models import Event
from modelspec_site.audit.services import (
    EventSpec,
    PreparedEvent,
    audit_prepare,
    audit_record,
    audit_record_many,
    audit_slots,
)
from modelspec_site.audit.verify import audit_verify, verify_stored
from tests.audit.forgery import CONSTRAINT, as_owner, drop_constraint, rewrite_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]
MIGRATION = importlib.import_module("modelspec_site.audit.migrations.0005_canonical")
AWKWARD = 'back\\slash, "quoted", tab\t, newline\n, bell\x07, ünïcödé €, 𝄞'


def _stored_text_is_the_reference(event: Event) -> None:
    expected = chain.canonical_bytes(event.chain_fields())
    assert event.canonical.encode() == expected
    assert hashlib.sha256(event.canonical.encode()).hexdigest() == event.hash


def test_every_write_path_stores_the_text_it_hashed(user):
    with transaction.atomic():
        audit_record(actor=user, action="feedback.noted", data={"text": AWKWARD})
        audit_record_many(
            [EventSpec(actor="anonymous", action="feedback.carried", data={"text": AWKWARD})]
        )
        slots = audit_slots("item")
        prepared = audit_prepare(
            actor=user,
            action="feedback.submitted",
            subjects=[{"type": "feedback.feedbackitem", "id": slots["item"], "label": AWKWARD}],
            data={"item": slots["item"], "text": AWKWARD},
            slots=slots,
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {PreparedEvent.SQL_CALL}", prepared.sql_args(["77"]))
    events = list(Event.objects.order_by("seq"))
    assert [e.action for e in events] == [
        "feedback.noted",
        "feedback.carried",
        "feedback.submitted",
    ]
    assert events[2].data["item"] == "77" and events[2].subjects[0]["id"] == "77"
    for event in events:
        _stored_text_is_the_reference(event)
    # The text holds backslashes, so COPY escapes it: the stored way still verifies.
    assert "\\\\" in events[0].canonical or "\\" in events[0].canonical
    result, _ = verify_stored()
    assert (result.ok, result.count, result.head_hash) == (True, 3, events[-1].hash)
    assert audit_verify(recompute=True) == result


def test_copy_escapes_are_undone_exactly(user):
    event = audit_record(actor=user, action="feedback.noted", data={"text": AWKWARD})
    # Raw control characters (whitespace JSON allows between tokens) reach COPY as \n, \t, \r:
    # rewritten with its own hash recomputed, the last event must verify if they are decoded
    # exactly, and fail if any byte is decoded wrongly.
    text = event.canonical.replace(",", ",\n\t\r ", 2)
    assert text != event.canonical
    as_owner(
        "UPDATE audit_event SET canonical = %s, hash = %s WHERE seq = %s",
        [text, hashlib.sha256(text.encode()).hexdigest(), event.seq],
    )
    result, _ = verify_stored()
    assert result.ok and result.head_hash == hashlib.sha256(text.encode()).hexdigest()
    as_owner(
        "UPDATE audit_event SET hash = %s WHERE seq = %s",
        [hashlib.sha256(text.replace("\t", "\\t").encode()).hexdigest(), event.seq],
    )
    assert not verify_stored()[0].ok


def test_a_checkpoint_is_checked_on_the_stored_text(user):
    events = [audit_record(actor=user, action="feedback.noted", data={"i": i}) for i in range(4)]
    result, at_two = verify_stored(watch=2)
    assert result.ok and at_two == events[1].hash
    assert verify_stored(watch=9)[1] is None


def test_the_migration_fills_the_text_of_events_that_predate_it(user):
    with transaction.atomic():
        for i in range(5):
            audit_record(actor=user, action="feedback.noted", data={"i": i, "text": AWKWARD})
    expected = {e.seq: e.canonical for e in Event.objects.all()}
    # As before migration 0005: no text, no constraint; and event 3 altered back then.
    drop_constraint()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_event ALTER COLUMN canonical DROP NOT NULL")
    as_owner("UPDATE audit_event SET canonical = NULL")
    as_owner("UPDATE audit_event SET data = '{\"i\": 99}' WHERE seq = 3")

    MIGRATION.fill_canonical(None, SimpleNamespace(connection=connection))
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_event ALTER COLUMN canonical SET NOT NULL")
        cursor.execute(f"ALTER TABLE audit_event ADD CONSTRAINT {CONSTRAINT} {MIGRATION.CHECK}")

    filled = {e.seq: e.canonical for e in Event.objects.all()}
    assert {seq: filled[seq] for seq in (1, 2, 4, 5)} == {s: expected[s] for s in (1, 2, 4, 5)}
    assert '"i":99' in filled[3]  # the columns as they are: it no longer hashes to its hash
    result = audit_verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert result.reason == "hash does not match the event's content"


def test_a_verification_that_stops_early_leaves_the_connection_usable(user):
    with transaction.atomic():
        for i in range(50):
            audit_record(actor=user, action="feedback.noted", data={"i": i})
    rewrite_data(5, {"i": -5})
    result, _ = verify_stored()
    assert (result.ok, result.first_bad_seq, result.count) == (False, 5, 4)
    # The COPY was cancelled and drained: the same connection goes on working.
    assert Event.objects.count() == 50
