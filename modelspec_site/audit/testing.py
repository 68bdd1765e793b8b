"""Test-suite support for the append-only ledger. Imported by tests only.

Transactional tests (pytest-django's ``transactional_db``, ``live_server``; Django's
``TransactionTestCase``) empty the database afterwards with one ``TRUNCATE`` of every table,
which the ledger's TRUNCATE trigger refuses. `allow_ledger_flush` makes that flush disable the
trigger, truncate and re-enable it, all inside the flush's own transaction, so no other
session ever sees the trigger off and the trigger stays in force for every test statement.
"""

from __future__ import annotations

from typing import Any

# Must match migration audit/0002_append_only.
LEDGER_TABLE = "audit_event"
TRUNCATE_TRIGGER = "audit_event_no_truncate"


def allow_ledger_flush() -> None:
    """Patch PostgreSQL's flush SQL for the rest of the process. Idempotent."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush
    if getattr(original, "allows_ledger_flush", False):
        return

    def sql_flush(self: DatabaseOperations, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        statements = original(self, style, tables, **kwargs)
        if LEDGER_TABLE not in tables or not statements:
            return statements
        table, trigger = self.quote_name(LEDGER_TABLE), self.quote_name(TRUNCATE_TRIGGER)
        return [
            f"ALTER TABLE {table} DISABLE TRIGGER {trigger};",
            *statements,
            f"ALTER TABLE {table} ENABLE TRIGGER {trigger};",
        ]

    sql_flush.allows_ledger_flush = True  # type: ignore[attr-defined]
    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign]
