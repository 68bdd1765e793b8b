"""manage.py verify_audit against the stored ledger, tampered with as the table owner."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from modelspec_site.audit import chain
from modelspec_site.audit.models import Event
from modelspec_site.audit.services import audit_record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]


def verify() -> tuple[int, str, str]:
    """Run the command; return (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err, chunk_size=2)
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def tamper(sql: str, params: list | None = None) -> None:
    """What the table owner can do: switch the trigger off, rewrite, switch it back on.
    All inside the test's transaction, so it is rolled back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete")


@pytest.fixture
def events(user):
    return [audit_record(actor=user, action="feedback.triaged", data={"i": i}) for i in range(5)]


def test_an_empty_ledger_is_ok():
    assert verify() == (0, f"OK: 0 events, head {chain.GENESIS_HASH}\n", "")


def test_a_good_chain_is_ok(events):
    assert verify() == (0, f"OK: 5 events, head {events[-1].hash}\n", "")


def test_edited_data_fails_at_that_event(events):
    tamper("UPDATE audit_event SET data = '{\"i\": 99}' WHERE seq = 3")
    status, out, err = verify()
    assert (status, out) == (1, "")
    assert err == "FAILED at seq 3: hash does not match the event's content\n"


def test_an_edited_time_fails_at_that_event(events):
    tamper(
        "UPDATE audit_event SET created_at = created_at + interval '1 microsecond' WHERE seq = 4"
    )
    status, _, err = verify()
    assert (status, err) == (1, "FAILED at seq 4: hash does not match the event's content\n")


def test_a_deleted_event_fails_where_it_is_missing(events):
    tamper("DELETE FROM audit_event WHERE seq = 2")
    status, _, err = verify()
    assert status == 1
    assert err.startswith("FAILED at seq 2: expected seq 2, found 3")


def test_a_resealed_event_fails_at_the_next_one(events):
    # The attacker recomputes the edited event's own hash but not its successors'.
    fields = Event.objects.get(seq=2).chain_fields() | {"data": {"i": 42}}
    tamper(
        "UPDATE audit_event SET data = '{\"i\": 42}', hash = %s WHERE seq = 2",
        [chain.event_hash(fields)],
    )
    status, _, err = verify()
    assert (status, err) == (
        1,
        "FAILED at seq 3: prev_hash does not match the previous event's hash\n",
    )
