"""`audit_append`: the ledger append as one server-side call, for hot write paths.

It does what `audit_record` does, with the same lock and the same canonical encoding
(`modelspec_site.audit.chain`), but inside PostgreSQL, so a caller that writes its change and
its event in one statement pays one round trip. The caller prepares the event with
`modelspec_site.audit.services.audit_prepare`: the canonical JSON text with tokens where the
chain fields go (seq, created_at, prev_hash) and where values known only in the database go
(slots, e.g. a new row's id). The function substitutes them, takes the ledger lock, reads the
head, hashes, and inserts. `verify_audit` checks these events like any other.

Slot values are restricted to `[A-Za-z0-9 ._:-]`, which JSON writes as themselves, so text
substitution inside the canonical JSON stays canonical.
"""

from django.db import migrations

LEDGER_LOCK_KEY = 0x6D6F_6465_6C73_7065  # as modelspec_site.audit.services.LEDGER_LOCK_KEY

FORWARD = f"""
CREATE OR REPLACE FUNCTION audit_append(
    p_canonical text,
    p_subjects text,
    p_data text,
    p_chain_tokens text[],  -- the tokens of seq, created_at and prev_hash, in that order
    p_slot_tokens text[],
    p_slot_values text[],
    p_actor_id integer,
    p_actor_kind text,
    p_actor_label text,
    p_action text,
    p_visibility text
) RETURNS TABLE (o_seq bigint, o_created_at timestamptz, o_hash text)
LANGUAGE plpgsql AS $$
DECLARE
    v_canonical text := p_canonical;
    v_subjects text := p_subjects;
    v_data text := p_data;
    v_seq bigint;
    v_prev text;
    v_at timestamptz;
    v_hash text;
    i integer;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_slot_tokens, 1), 0) LOOP
        IF p_slot_values[i] IS NULL OR p_slot_values[i] !~ '^[A-Za-z0-9 ._:-]*$' THEN
            RAISE EXCEPTION 'audit_append: slot value % is not allowed', p_slot_values[i];
        END IF;
        v_canonical := replace(v_canonical, p_slot_tokens[i], p_slot_values[i]);
        v_subjects := replace(v_subjects, p_slot_tokens[i], p_slot_values[i]);
        v_data := replace(v_data, p_slot_tokens[i], p_slot_values[i]);
    END LOOP;
    PERFORM pg_advisory_xact_lock({LEDGER_LOCK_KEY});
    SELECT seq, hash INTO v_seq, v_prev FROM audit_event ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_prev := repeat('0', 64);
    END IF;
    v_seq := v_seq + 1;
    v_at := clock_timestamp();
    v_canonical := replace(v_canonical, p_chain_tokens[1], v_seq::text);
    v_canonical := replace(
        v_canonical, p_chain_tokens[2],
        to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    );
    v_canonical := replace(v_canonical, p_chain_tokens[3], v_prev);
    v_hash := encode(sha256(convert_to(v_canonical, 'UTF8')), 'hex');
    INSERT INTO audit_event (
        seq, created_at, actor_id, actor_kind, actor_label, action, subjects, visibility,
        data, prev_hash, hash
    ) VALUES (
        v_seq, v_at, p_actor_id, p_actor_kind, p_actor_label, p_action, v_subjects::jsonb,
        p_visibility, v_data::jsonb, v_prev, v_hash
    );
    RETURN QUERY SELECT v_seq, v_at, v_hash;
END;
$$;
"""

REVERSE = "DROP FUNCTION IF EXISTS audit_append(text, text, text, text[], text[], text[], integer, text, text, text, text);"


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
