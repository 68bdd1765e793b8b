"""`feedback_submit_public`: a public submission as one server-side call (feedback.fast_submit).

In one transaction (the statement's own, in autocommit): the idempotency claim (the same
advisory lock as `feedback.idempotency`; a stored response within its TTL is returned for
replay), the comment-period check on the version row, the tracking number (the same counter
row as `services._next_tracking_number`), the item, the idempotency record and, last, the
ledger event (`audit_append`): its lock is held until COMMIT and serialises every writer, so
everything else happens before it, foreign-key checks included. Outcome 'created', 'replay', or 'closed' (the caller then takes the full
path, which explains the refusal). The item columns are listed explicitly; a test compares an
item filed this way with one filed through `feedback_submit`.
"""

from django.db import migrations

IDEMPOTENCY_LOCK_NAMESPACE = 0x49444D50  # feedback.idempotency.LOCK_NAMESPACE

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

    -- The common case is one UPDATE; the first number of a (prefix, year) inserts the row.
    UPDATE feedback_trackingcounter c SET last = c.last + 1
        WHERE c.prefix = v_prefix AND c.year = v_year
        RETURNING c.last INTO v_number;
    IF NOT FOUND THEN
        INSERT INTO feedback_trackingcounter AS c (prefix, year, last)
            VALUES (v_prefix, v_year, 1)
            ON CONFLICT (prefix, year) DO UPDATE SET last = c.last + 1
            RETURNING c.last INTO v_number;
    END IF;
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

REVERSE = "DROP FUNCTION IF EXISTS feedback_submit_public;"


class Migration(migrations.Migration):
    dependencies = [("feedback", "0003_workflow"), ("audit", "0003_append_function")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
