"""`manage.py grant_app_role ROLE`: let a separate database role run the site without owning it.

The role that owns the tables (the one `migrate` runs as) can switch the ledger's append-only
triggers off, drop its CHECK constraint and rewrite rows. In production the web and worker
processes should connect as another role, which this command equips: it may read and write the
site's tables and create objects in the schema (tracking-number sequences are created on
demand), but on the ledger tables (`audit_event`, `audit_checkpoint`) it may only read and
append. Not owning them, it cannot ALTER them either: no DISABLE TRIGGER, no DROP CONSTRAINT.

Run it as the owner after every `migrate` (it is idempotent); default privileges cover tables a
later migration creates, and running it again re-applies the ledger's restrictions.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

LEDGER_TABLES = ("audit_event", "audit_checkpoint")
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT, UPDATE"


def grant_statements(role: str, schema: str) -> list[sql.Composed]:
    """What the command runs, in order."""
    r, s = sql.Identifier(role), sql.Identifier(schema)
    ledger = sql.SQL(", ").join(sql.Identifier(schema, table) for table in LEDGER_TABLES)
    return [
        sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(s, r),
        sql.SQL(f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {{}} TO {{}}").format(s, r),
        sql.SQL(f"GRANT {SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {{}} TO {{}}").format(
            s, r
        ),
        sql.SQL(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{}} GRANT {TABLE_PRIVILEGES} ON TABLES TO {{}}"
        ).format(s, r),
        sql.SQL(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{}} GRANT {SEQUENCE_PRIVILEGES} "
            "ON SEQUENCES TO {}"
        ).format(s, r),
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {} FROM {}").format(
            ledger, r
        ),
    ]


class Command(BaseCommand):
    help = (
        "Grant ROLE what the web and worker processes need, except changing or removing ledger "
        "rows. Run as the tables' owner after every migrate."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("role", help="The role the site's processes connect as.")

    def handle(self, *args, role: str, **options) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise CommandError(f"there is no database role {role!r}; create it first")
            cursor.execute(
                "SELECT n.nspname, pg_get_userbyid(c.relowner) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.oid = 'audit_event'::regclass"
            )
            schema, owner = cursor.fetchone()
            if owner == role:
                raise CommandError(
                    f"{role!r} owns the ledger table and could switch its protections off: "
                    "give the site's processes a separate role"
                )
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone()[0]:
                raise CommandError(f"{role!r} is a superuser: no privilege can restrict it")
            for statement in grant_statements(role, schema):
                cursor.execute(statement)
        self.stdout.write(
            f"{role}: reads and writes the site's tables in schema {schema}; on "
            f"{', '.join(LEDGER_TABLES)} only SELECT and INSERT (owner: {owner})."
        )
