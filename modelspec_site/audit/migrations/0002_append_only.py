"""The database itself refuses to change or remove ledger rows.

Row-level BEFORE UPDATE OR DELETE and statement-level BEFORE TRUNCATE triggers raise SQLSTATE
42501 (insufficient_privilege) with the message 'audit ledger is append-only'. The table owner
can still ALTER TABLE ... DISABLE TRIGGER: in production the application role must not own the
table (and should hold only SELECT and INSERT on it), and the hash chain with published
checkpoints catches what an owner or superuser rewrites anyway.

The test suite's flush (TRUNCATE of every table, used by transactional tests) goes through
`modelspec_site.audit.testing.allow_ledger_flush`, which disables the TRUNCATE trigger inside
the flush's own transaction. The names below must match that module.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a new event instead of changing or removing old ones.';
END;
$$;

CREATE TRIGGER audit_event_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();

CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;
DROP TRIGGER IF EXISTS audit_event_no_update_delete ON audit_event;
DROP FUNCTION IF EXISTS audit_event_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
