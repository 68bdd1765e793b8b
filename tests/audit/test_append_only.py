"""The database refuses to change or remove ledger rows, whoever asks and however."""

import pytest
from django.db import DatabaseError, connection, transaction

from modelspec_site.audit.models import Event
from modelspec_site.audit.services import audit_record
from modelspec_site.audit.testing import LEDGER_TABLE, TRUNCATE_TRIGGER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]

INSUFFICIENT_PRIVILEGE = "42501"


@pytest.fixture
def events():
    return [audit_record(actor=None, action="test.recorded", data={"i": i}) for i in range(3)]


def refused(sql: str) -> DatabaseError:
    """Run `sql` in a savepoint, expecting the trigger's refusal; the test DB stays usable."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    assert "audit ledger is append-only" in str(caught.value)
    assert caught.value.__cause__.sqlstate == INSUFFICIENT_PRIVILEGE
    return caught.value


@pytest.mark.parametrize(
    ("sql", "operation"),
    [
        ("UPDATE audit_event SET data = '{\"i\": 99}' WHERE seq = 2", "UPDATE"),
        ("UPDATE audit_event SET actor_label = actor_label", "UPDATE"),
        ("DELETE FROM audit_event WHERE seq = 3", "DELETE"),
        ("DELETE FROM audit_event", "DELETE"),
        ("TRUNCATE audit_event", "TRUNCATE"),
        ("TRUNCATE audit_event CASCADE", "TRUNCATE"),
    ],
)
def test_raw_sql_changes_are_refused(events, sql, operation):
    error = refused(sql)
    assert f"{operation} on audit_event refused" in str(error)
    assert [(e.seq, e.hash, e.data) for e in Event.objects.order_by("seq")] == [
        (e.seq, e.hash, e.data) for e in events
    ]


def test_truncate_is_refused_even_when_the_ledger_is_empty():
    refused("TRUNCATE audit_event")


def test_orm_update_and_delete_are_refused(events):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.filter(seq=1).update(action="test.rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.filter(seq=3).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        events[0].data = {"i": 42}
        events[0].save()
    assert Event.objects.count() == 3
    assert Event.objects.get(seq=1).data == {"i": 0}


def test_the_trigger_names_the_test_flush_relies_on_exist():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
            " AND tgenabled = 'O'",
            [LEDGER_TABLE],
        )
        names = {row[0] for row in cursor.fetchall()}
    assert names == {TRUNCATE_TRIGGER, "audit_event_no_update_delete"}
