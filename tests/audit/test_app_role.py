"""The site's processes as a role that does not own the tables (RELIABILITY.md, ledger row):
UPDATE, DELETE, TRUNCATE, DISABLE TRIGGER and DROP CONSTRAINT on the ledger are all refused,
while appending, verifying and the rest of the site's writes still work.

The role is created inside the test's transaction (CREATE ROLE is transactional), so nothing
outlives the test. The connecting role needs CREATEROLE (scripts/lib.sh pg_ensure_db gives it
on the throwaway clusters of `make test` and `make run`)."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from modelspec_site.audit.models import Event
from modelspec_site.audit.services import audit_record
from modelspec_site.audit.verify import audit_verify

pytestmark = pytest.mark.django_db
ROLE = "modelspec_app_role_test"
REFUSED = [
    ("UPDATE audit_event SET actor_label = actor_label", "permission denied"),
    ("DELETE FROM audit_event", "permission denied"),
    ("TRUNCATE audit_event", "permission denied"),
    ("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete", "must be owner"),
    ("ALTER TABLE audit_event DISABLE TRIGGER ALL", "must be owner"),
    ("ALTER TABLE audit_event DROP CONSTRAINT audit_event_canonical_matches", "must be owner"),
    ("UPDATE audit_checkpoint SET count = count", "permission denied"),
    ("DELETE FROM audit_checkpoint", "permission denied"),
]


@pytest.fixture
def app_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone()[0], (
            "the test database role needs CREATEROLE (ALTER ROLE ... CREATEROLE; "
            "scripts/lib.sh pg_ensure_db does it)"
        )
        cursor.execute(f"CREATE ROLE {ROLE} NOLOGIN")
        cursor.execute(f"GRANT {ROLE} TO current_user")
    call_command("grant_app_role", ROLE, stdout=open("/dev/null", "w"))  # noqa: SIM115
    audit_record(actor=None, action="test.recorded", data={"before": True})
    return ROLE


def _as_app_role(sql: str, params=None) -> None:
    """Run `sql` as the app role; call it inside a savepoint, whose rollback ends the role."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {ROLE}")
        cursor.execute(sql, params)


@pytest.mark.parametrize(("statement", "reason"), REFUSED)
def test_the_app_role_cannot_change_or_unprotect_the_ledger(app_role, statement, reason):
    with pytest.raises(DatabaseError, match=reason), transaction.atomic():
        _as_app_role(statement)
    assert Event.objects.filter(data__before=True).exists()


def test_the_app_role_appends_verifies_and_takes_tracking_numbers(app_role):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {ROLE}")
        event = audit_record(actor=None, action="test.recorded", data={"as": "app"})
        # A year's tracking-number sequence is created on demand by the app role.
        cursor.execute("SELECT feedback_tracking_next('ZZ', 2999)")
        assert cursor.fetchone()[0] == 1
        result = audit_verify()
        cursor.execute("RESET ROLE")
    assert result.ok and result.head_hash == event.hash


def test_bad_roles_are_refused_with_a_clear_error(db):
    with pytest.raises(CommandError, match="there is no database role"):
        call_command("grant_app_role", "no_such_role_here")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    with pytest.raises(CommandError, match="owns the ledger table"):
        call_command("grant_app_role", owner)
