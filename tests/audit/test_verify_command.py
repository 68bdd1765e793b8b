"""manage.py verify_audit against the stored ledger, tampered with as the table owner."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from modelspec_site.audit import chain
from modelspec_site.audit.services import audit_record
from modelspec_site.audit.verify import CANONICAL_CHECK
from tests.audit.forgery import CONSTRAINT, as_owner, drop_constraint, rewrite_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]


def verify(*args: str) -> tuple[int, str, str]:
    """Run the command; return (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err, chunk_size=2)
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def events(user):
    return [audit_record(actor=user, action="feedback.triaged", data={"i": i}) for i in range(5)]


def test_an_empty_ledger_is_ok():
    assert verify() == (0, f"OK: 0 events, head {chain.GENESIS_HASH}\n", "")


def test_a_good_chain_is_ok(events):
    assert verify() == (0, f"OK: 5 events, head {events[-1].hash}\n", "")


def test_the_database_refuses_edited_columns_even_with_the_trigger_off(events):
    # The CHECK constraint ties the columns to the stored canonical text; unlike the trigger,
    # it cannot be switched off.
    with pytest.raises(IntegrityError, match=CONSTRAINT), transaction.atomic():
        as_owner("UPDATE audit_event SET data = '{\"i\": 99}' WHERE seq = 3")
    with pytest.raises(IntegrityError, match=CONSTRAINT), transaction.atomic():
        as_owner("UPDATE audit_event SET created_at = created_at + interval '1 microsecond'")
    assert verify()[0] == 0


@pytest.mark.parametrize("mode", [(), ("--recompute",), ("--reference",)])
def test_edited_data_fails_at_that_event(events, mode):
    rewrite_data(3, {"i": 99})
    status, out, err = verify(*mode)
    assert (status, out) == (1, "")
    assert err == "FAILED at seq 3: hash does not match the event's content\n"


def test_an_edited_text_alone_fails_at_that_event(events):
    # The same meaning in other bytes (a space): the columns still match, the hash does not.
    as_owner("UPDATE audit_event SET canonical = replace(canonical, ',', ', ') WHERE seq = 4")
    status, _, err = verify()
    assert (status, err) == (1, "FAILED at seq 4: hash does not match the event's content\n")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("DROP CONSTRAINT {name}", "is missing"),
        ("DROP CONSTRAINT {name}, ADD CONSTRAINT {name} CHECK (canonical <> '') NOT VALID",
         "is NOT VALID"),
        ("DROP CONSTRAINT {name}, ADD CONSTRAINT {name} CHECK (canonical <> '')",
         "has been changed"),
    ],
)  # fmt: skip
def test_a_dropped_or_weakened_constraint_is_reported(events, change, reason):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_event " + change.format(name=CONSTRAINT))
    as_owner("UPDATE audit_event SET data = '{\"i\": 99}' WHERE seq = 3")
    status, out, err = verify()
    assert (status, out) == (1, "")
    assert err.startswith(f"FAILED: the constraint {CONSTRAINT} {reason}")
    assert "--recompute" in err
    # Re-encoding the columns trusts no constraint and names the event.
    status, _, err = verify("--recompute")
    assert (status, err) == (1, "FAILED at seq 3: hash does not match the event's content\n")


def test_an_equivalent_constraint_written_differently_is_accepted(events):
    # PostgreSQL's rendering is compared, not the migration's layout.
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE audit_event DROP CONSTRAINT {CONSTRAINT}, ADD CONSTRAINT {CONSTRAINT} "
            f"{' '.join(CANONICAL_CHECK.split())}"
        )
    assert verify()[0] == 0


def test_an_edited_time_fails_at_that_event(events):
    drop_constraint()
    as_owner(
        "UPDATE audit_event SET created_at = created_at + interval '1 microsecond' WHERE seq = 4"
    )
    status, _, err = verify("--recompute")
    assert (status, err) == (1, "FAILED at seq 4: hash does not match the event's content\n")


def test_a_deleted_event_fails_where_it_is_missing(events):
    as_owner("DELETE FROM audit_event WHERE seq = 2")
    for mode in ((), ("--recompute",)):
        status, _, err = verify(*mode)
        assert status == 1
        assert err.startswith("FAILED at seq 2: expected seq 2, found 3")


def test_a_resealed_event_fails_at_the_next_one(events):
    # The attacker recomputes the edited event's own hash but not its successors'.
    rewrite_data(2, {"i": 42}, reseal=True)
    for mode in ((), ("--recompute",)):
        status, _, err = verify(*mode)
        assert (status, err) == (
            1,
            "FAILED at seq 3: prev_hash does not match the previous event's hash\n",
        )
