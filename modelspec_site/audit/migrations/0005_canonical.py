"""Each event keeps the exact bytes it was hashed over, and the database ties them to its columns.

- ``canonical``: the event's canonical JSON text (`modelspec_site.audit.chain`), written by
  every append path (`audit_record`, `audit_record_many`, the SQL function `audit_append`,
  replaced here to store it). ``hash`` is the SHA-256 of its UTF-8 bytes.
- ``audit_event_canonical_matches``: a CHECK constraint that the text decodes to exactly the
  row's columns. Unlike the append-only triggers, a CHECK constraint cannot be switched off;
  it can only be dropped, which `verify_audit` notices (missing, NOT VALID, or changed).

Together they let `verify_audit` check the chain by hashing the stored bytes (streamed with
COPY) instead of re-encoding every row. Existing rows are filled from their columns with the
reference encoder; a row whose columns were already altered gets bytes that do not hash to its
stored hash, so verification still names it.

The constraint's expression is repeated, on purpose, in `modelspec_site.audit.verify`
(`CANONICAL_CHECK`), which compares the live definition with it: migrations stay frozen.
"""

import importlib
import json

from django.db import migrations, models

CONSTRAINT = "audit_event_canonical_matches"
CHECK = """CHECK (canonical::jsonb = jsonb_build_object(
    'seq', seq,
    'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor_kind', actor_kind,
    'actor_label', actor_label,
    'actor_id', actor_id::text,
    'action', action,
    'subjects', subjects,
    'visibility', visibility,
    'data', data,
    'prev_hash', prev_hash))"""
UPDATE_TRIGGER = "audit_event_no_update_delete"  # migration 0002
BATCH = 10_000

_ROWS = """
SELECT seq, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       actor_kind, actor_label, actor_id, action, subjects::text, visibility, data::text,
       prev_hash
FROM audit_event WHERE seq > %s ORDER BY seq LIMIT %s
"""


def _canonical_text(row) -> str:
    from modelspec_site.audit import chain  # version 1 of the encoding: fixed, like this file

    seq, created_at, kind, label, actor_id, action, subjects, visibility, data, prev = row
    fields = {
        "seq": seq,
        "created_at": created_at,
        "actor_kind": kind,
        "actor_label": label,
        "actor_id": None if actor_id is None else str(actor_id),
        "action": action,
        "subjects": json.loads(subjects),
        "visibility": visibility,
        "data": json.loads(data),
        "prev_hash": prev,
    }
    try:
        return chain.canonical_bytes(fields).decode()
    except ValueError:  # not encodable: keep the columns' JSON; the hash will not match
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fill_canonical(apps, schema_editor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM audit_event)")
        if not cursor.fetchone()[0]:
            return
        cursor.execute(f"ALTER TABLE audit_event DISABLE TRIGGER {UPDATE_TRIGGER}")
        cursor.execute(
            "CREATE TEMP TABLE audit_canonical_fill (seq bigint PRIMARY KEY, canonical text)"
            " ON COMMIT DROP"
        )
        last = 0
        while True:
            cursor.execute(_ROWS, [last, BATCH])
            rows = cursor.fetchall()
            if not rows:
                break
            with cursor.cursor.copy("COPY audit_canonical_fill FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((row[0], _canonical_text(row)))
            last = rows[-1][0]
        cursor.execute(
            "UPDATE audit_event e SET canonical = f.canonical "
            "FROM audit_canonical_fill f WHERE e.seq = f.seq"
        )
        cursor.execute(f"ALTER TABLE audit_event ENABLE TRIGGER {UPDATE_TRIGGER}")


def _append_function_v1() -> str:
    return importlib.import_module("modelspec_site.audit.migrations.0003_append_function").FORWARD


# audit_append as in 0003, storing the canonical text it hashed.
APPEND_V2 = (
    _append_function_v1()
    .replace(
        "        seq, created_at, actor_id, actor_kind, actor_label, action, subjects, visibility,\n"
        "        data, prev_hash, hash\n",
        "        seq, created_at, actor_id, actor_kind, actor_label, action, subjects, visibility,\n"
        "        data, prev_hash, hash, canonical\n",
    )
    .replace(
        "        p_visibility, v_data::jsonb, v_prev, v_hash\n",
        "        p_visibility, v_data::jsonb, v_prev, v_hash, v_canonical\n",
    )
)
assert "prev_hash, hash, canonical\n" in APPEND_V2 and "v_hash, v_canonical\n" in APPEND_V2


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_checkpoint")]

    operations = [
        migrations.AddField(
            model_name="event",
            name="canonical",
            field=models.TextField(editable=False, null=True, verbose_name="canonical JSON"),
        ),
        migrations.RunPython(fill_canonical, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="event",
            name="canonical",
            field=models.TextField(
                editable=False,
                help_text="The exact text hashed into the chain (UTF-8).",
                verbose_name="canonical JSON",
            ),
        ),
        migrations.RunSQL(
            f"ALTER TABLE audit_event ADD CONSTRAINT {CONSTRAINT} {CHECK};",
            f"ALTER TABLE audit_event DROP CONSTRAINT IF EXISTS {CONSTRAINT};",
        ),
        migrations.RunSQL(APPEND_V2, _append_function_v1()),
    ]
