"""Tracking numbers from PostgreSQL sequences, one per (prefix, year), instead of a counter row.

The counter row was locked from the moment a submission took its number until COMMIT, so every
submission waited for the one before it to insert its item, its idempotency record and its
ledger event, and to flush its commit to disk. A sequence hands out numbers without holding
anything: only the ledger append (last, under its own lock) stays serialised. The price is that
a submission that fails after taking its number leaves a gap; numbers stay unique, increasing
within a year, and say nothing about withheld items (internal items have their own prefix).

`feedback_tracking_next(prefix, year)` creates the year's sequence the first time it is needed,
continuing from the old counter row if there is one, so numbers never repeat across the change.
Both write paths use it: the ORM path (`services._next_tracking_number`) and
`feedback_submit_public`, replaced here with the same body as in 0004 but for the number.
"""

from django.db import migrations

IDEMPOTENCY_LOCK_NAMESPACE = 0x49444D50  # feedback.idempotency.LOCK_NAMESPACE

TRACKING_NEXT = """
CREATE OR REPLACE FUNCTION feedback_tracking_next(p_prefix text, p_year integer)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_name text := 'feedback_tracking_' || lower(p_prefix) || '_' || p_year;
    v_start bigint;
BEGIN
    IF to_regclass(v_name) IS NULL THEN
        SELECT c.last INTO v_start FROM feedback_trackingcounter c
            WHERE c.prefix = p_prefix AND c.year = p_year;
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I START WITH %s',
                           v_name, coalesce(v_start, 0) + 1);
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL;  -- another transaction created it at the same moment
        END;
    END IF;
    RETURN nextval(v_name);
END;
$$;
"""

FORWARD = f"""
CREATE OR REPLACE FUNCTION feedback_submit_public(
    p_scope text, p_key_hash text, p_request_hash text, p_ttl_seconds integer,
    p_version_id bigint, p_clause_text_id bigint, p_clause_id bigint,
    p_quote_exact text, p_quote_prefix text, p_quote_suffix text,
    p_position_start integer, p_position_end integer,
    p_kind text, p_severity text, p_summary text, p_body text, p_suggested_text text,
    p_example_conversation jsonb, p_affiliation text, p_conflict_of_interest text,
    p_submitter_name text, p_follow_token_hash text,
    p_event_canonical text, p_event_subjects text, p_event_data text,
    p_event_chain_tokens text[], p_event_slot_tokens text[],
    p_event_action text, p_response text, p_response_tokens text[]
) RETURNS TABLE (
    outcome text, tracking_number text, created_text text, event_seq bigint,
    replay_status integer, replay_response jsonb, replay_request_hash text
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_record feedback_idempotencyrecord%ROWTYPE;
    v_prefix text;
    -- The clock, not the transaction's start: the caller may be inside a longer transaction.
    v_now timestamptz := clock_timestamp();
    v_year integer := extract(year FROM v_now AT TIME ZONE 'UTC')::integer;
    v_number integer;
    v_tracking text;
    v_item_id bigint;
    v_created text := to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    v_seq bigint;
BEGIN
    -- Foreign keys are checked as each row goes in, not at COMMIT: the ledger lock is held
    -- until COMMIT, so nothing that can be done before taking it may wait until then.
    SET CONSTRAINTS ALL IMMEDIATE;
    IF p_key_hash IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(
            {IDEMPOTENCY_LOCK_NAMESPACE}, hashtext(p_scope || '|' || p_key_hash)
        );
        SELECT * INTO v_record FROM feedback_idempotencyrecord r
            WHERE r.scope = p_scope AND r.key = p_key_hash;
        IF FOUND THEN
            IF v_record.created_at >= v_now - make_interval(secs => p_ttl_seconds) THEN
                RETURN QUERY SELECT 'replay'::text, NULL::text, NULL::text, NULL::bigint,
                    v_record.status_code::integer, v_record.response, v_record.request_hash::text;
                RETURN;
            END IF;
            DELETE FROM feedback_idempotencyrecord WHERE id = v_record.id;
        END IF;
    END IF;

    SELECT s.tracking_prefix INTO v_prefix
        FROM revisions_version v JOIN revisions_spec s ON s.id = v.spec_id
        WHERE v.id = p_version_id AND v.state = 'published'
          AND (v.comment_opens_at IS NULL OR v.comment_opens_at <= v_now)
          AND (v.comment_closes_at IS NULL OR v_now < v.comment_closes_at);
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'closed'::text, NULL::text, NULL::text, NULL::bigint,
            NULL::integer, NULL::jsonb, NULL::text;
        RETURN;
    END IF;

    v_number := feedback_tracking_next(v_prefix, v_year);
    v_tracking := v_prefix || '-' || v_year || '-'
        || CASE WHEN v_number < 100000 THEN lpad(v_number::text, 5, '0') ELSE v_number::text END;

    INSERT INTO feedback_feedbackitem (
        tracking_number, spec_id, version_id, clause_id, clause_text_id, example_id,
        quote_exact, quote_prefix, quote_suffix, position_start, position_end,
        kind, severity, summary, body, suggested_text, example_conversation,
        affiliation, conflict_of_interest, visibility, state, submitter_id, submitter_name,
        submitter_email, follow_token_hash, hidden, hidden_reason, hidden_at,
        endorsement_count, report_count, created_at, updated_at,
        assignee_id, duplicate_of_id, resolution, review_round, state_changed_at
    )
    SELECT v_tracking, v.spec_id, v.id, p_clause_id, p_clause_text_id, NULL,
        p_quote_exact, p_quote_prefix, p_quote_suffix, p_position_start, p_position_end,
        p_kind, p_severity, p_summary, p_body, p_suggested_text, p_example_conversation,
        p_affiliation, p_conflict_of_interest, 'public', 'received', NULL, p_submitter_name,
        '', p_follow_token_hash, false, '', NULL,
        0, 0, v_now, v_now,
        NULL, NULL, '', 1, NULL
    FROM revisions_version v WHERE v.id = p_version_id
    RETURNING id INTO v_item_id;

    IF p_key_hash IS NOT NULL THEN
        INSERT INTO feedback_idempotencyrecord (
            key, scope, request_hash, status_code, response, created_at
        ) VALUES (
            p_key_hash, p_scope, p_request_hash, 201,
            replace(replace(p_response, p_response_tokens[1], v_tracking),
                    p_response_tokens[2], v_created)::jsonb,
            v_now
        );
    END IF;

    SELECT a.o_seq INTO v_seq FROM audit_append(
        p_event_canonical, p_event_subjects, p_event_data, p_event_chain_tokens,
        p_event_slot_tokens, ARRAY[v_tracking, v_item_id::text],
        NULL, 'anonymous', 'anonymous', p_event_action, 'public'
    ) a;

    SET CONSTRAINTS ALL DEFERRED;  -- Django's default, for a caller's open transaction
    RETURN QUERY SELECT 'created'::text, v_tracking, v_created, v_seq,
        NULL::integer, NULL::jsonb, NULL::text;
END;
$$;
"""  # noqa: S608 (only constants are formatted in)

REVERSE = "SELECT 1;"  # 0004's function body is restored by migrating back to 0004


class Migration(migrations.Migration):
    dependencies = [("feedback", "0009_carry_forward_and_scheduling")]

    operations = [
        migrations.RunSQL(TRACKING_NEXT, "DROP FUNCTION IF EXISTS feedback_tracking_next;"),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
