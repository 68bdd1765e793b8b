"""Triage queue and tracker speed at a million feedback items, in one run, on this machine.

    .venv/bin/python bench/queue.py [--rows 1000000] [--small-rows 10000] [--repeat 20]

What it does (see bench/README.md):

1. a throwaway PostgreSQL (unless DATABASE_URL is set), migrations, `manage.py bootstrap`;
2. seeds `--small-rows` feedback items with a realistic spread (`seed_items`: states, kinds,
   severities, visibility, skewed clauses across the bundled versions, two years of ages,
   endorsements with a long tail, passages, assignees, labels), ANALYZE, and counts the SQL
   queries of every measured request;
3. replaces them with `--rows` items (PostgreSQL `INSERT ... SELECT generate_series`, in
   batches, secondary indexes dropped during the load and rebuilt from their own definitions),
   VACUUM ANALYZE;
4. measures every case in-process through Django's test `Client` (middleware, template and all
   queries count; a staff session with two-factor sign-in recorded): warm, `--repeat` times
   each, p50, p95 and the query count, which must equal the count at `--small-rows`;
5. prints a table, the plan (EXPLAIN ANALYZE) of the slowest SQL of each case that misses, and
   PASS/FAIL: p95 < 100 ms for every case, and query counts that do not grow with the data.

Exit status: 0 on PASS, 1 on FAIL, 2 when the benchmark could not run. Everything it started
(PostgreSQL, temporary files) is stopped and removed on every exit, Ctrl-C included.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file (queue.py) would
# then shadow the standard library's `queue`, which Django's threads import. Put the project
# root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.reader import (  # noqa: E402 - needs ROOT on sys.path when run as a script
    PY,
    BenchError,
    Stack,
    bench_env,
    guarded_run,
    migrate_and_bootstrap,
    say,
)

TARGET_P95_MS = 100.0
BATCH = 100_000  # rows per INSERT statement (and per transaction) in the bulk load

# --- the seeder -------------------------------------------------------------------------------

# (value, weight): most items are waiting (received, triaged, in review), some are closed.
STATES = [
    ("received", 30), ("triaged", 24), ("in_review", 20), ("needs_info", 5), ("accepted", 4),
    ("declined", 5), ("duplicate", 3), ("deferred", 3), ("incorporated", 3), ("spam", 2),
    ("withdrawn", 1),
]  # fmt: skip
KINDS = [
    ("unclear", 25), ("disagree", 20), ("missing_case", 15), ("editorial", 12),
    ("example_wrong", 8), ("new_example", 7), ("conflict", 5), ("other", 8),
]  # fmt: skip
SEVERITIES = [("low", 30), ("medium", 45), ("high", 20), ("critical", 5)]
CLOSED = ("duplicate", "declined", "spam", "deferred", "incorporated", "withdrawn")
WORKING = ("triaged", "in_review", "needs_info", "accepted")
INTERNAL_SHARE = 0.05
PASSAGE_SHARE = 0.20
EXAMPLE_SHARE = 0.10
HIDDEN_SHARE = 0.003
LABEL_SHARE = 0.25  # items with at least one label; a fifth of those have two
SPAN_DAYS = 730
STAFF = [f"bench-staff-{n}" for n in range(1, 9)]
LABELS = [
    ("safety", "Touches a safety clause"), ("tone", "Style and tone"),
    ("examples", "About the examples"), ("policy-gap", "A case the spec does not cover"),
    ("legal", "Needs a legal read"), ("formatting", "Markdown and rendering"),
    ("translation", "Wording across languages"), ("good-first", "Quick to settle"),
]  # fmt: skip
SUBJECTS = [
    "The clause on", "This example about", "The wording of", "The rule for", "The section on",
    "Guidance about", "The exception for", "The definition of", "The priority of",
    "The default for", "The boundary around", "The note on",
]  # fmt: skip
TOPICS = [
    "developer instructions", "user autonomy", "refusals", "tool use", "privacy",
    "formatting answers", "creative writing", "medical questions", "chain of command",
    "uncertainty", "sycophancy", "political topics", "memory", "children", "humour",
]  # fmt: skip
PROBLEMS = [
    "is unclear", "contradicts another clause", "misses a common case", "is too strict",
    "is too permissive", "needs an example", "reads ambiguously", "has a typo",
]  # fmt: skip
SENTENCES = [
    "When a developer message and a user message disagree, the text does not say which wins.",
    "The example shows the assistant refusing, but the clause seems to allow the request.",
    "I think the wording could be read two ways by a careful reader.",
    "A short example with a tool call would make this much clearer.",
    "This conflicts with the guidance a few sections earlier about defaults.",
    "Consider a user who asks for the same thing in a different language.",
    "The phrase 'in most cases' leaves the reader guessing about the rest.",
    "Our team hit this while building a customer support assistant.",
]  # fmt: skip
NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Frances", "Donald", "Radia", "Tim"]
AFFILIATIONS = ["University of Example", "Acme Labs", "Independent", "Open Research Group"]


def _array(values) -> str:
    """A SQL text array literal from trusted constants (no user input reaches this)."""
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def _pick(weighted, draw: str) -> str:
    """CASE expression mapping a uniform draw in [0, 1) onto weighted values. `draw` must be a
    column, not random() itself, which each WHEN would evaluate anew."""
    total = sum(w for _, w in weighted)
    parts, acc = [], 0
    for value, weight in weighted[:-1]:
        acc += weight
        parts.append(f"WHEN {draw} < {acc / total:.6f} THEN '{value}'")
    return f"(CASE {' '.join(parts)} ELSE '{weighted[-1][0]}' END)"


def _rand_elem(array_sql: str, length: int, draw: str = "random()") -> str:
    return f"({array_sql})[1 + floor({draw} * {length})::int]"


@dataclass
class SeedInfo:
    rows: int
    first_id: int
    staff_ids: list[int]
    label_ids: list[int]
    seconds: float = 0.0
    batches: list[float] = field(default_factory=list)


def seed_staff_and_labels() -> tuple[list[int], list[int]]:
    """A handful of staff accounts (triagers and reviewers) and the labels, via the ORM."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from feedback.models import Label
    from modelspec_site.accounts.roles import REVIEWER, TRIAGER, roles_ensure

    roles_ensure()
    user_model = get_user_model()
    staff_ids = []
    for n, username in enumerate(STAFF):
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.org", "is_staff": True}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=TRIAGER if n % 2 == 0 else REVIEWER))
        staff_ids.append(user.pk)
    label_ids = [
        Label.objects.get_or_create(name=name, defaults={"description": description})[0].pk
        for name, description in LABELS
    ]
    return staff_ids, label_ids


def seed_items(
    rows: int,
    *,
    spec_slug: str = "model-spec",
    now: dt.datetime | None = None,
    seed: float = 0.42,
    batch: int = BATCH,
    progress=None,
) -> SeedInfo:
    """Add `rows` feedback items to the spec's versions with a realistic spread, and labels.

    Server-side `INSERT ... SELECT` over `generate_series`, `batch` rows per statement and per
    transaction (each batch draws from `setseed`, so a run is reproducible). Item ids follow
    creation time, as they do in life; tracking numbers are `MS-<year>-<serial>` (internal
    items `MSI-…`) in creation order, continuing from `feedback_trackingcounter`, which is
    advanced so later submissions do not collide. Received items that never moved keep
    `state_changed_at` empty, as `feedback_submit` leaves it. No ledger events are written."""
    from django.db import connection, transaction
    from django.utils import timezone

    from revisions.models import Spec

    started = time.monotonic()
    now = now or timezone.now()
    spec = Spec.objects.get(slug=spec_slug)
    staff_ids, label_ids = seed_staff_and_labels()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seed_clause")
        # Clauses of every version, each version's clauses in a fixed shuffled order (by
        # anchor hash, so a hot clause is hot in every version); `vrank` 0 is the oldest.
        cursor.execute(
            """
            CREATE TEMP TABLE seed_clause AS
            SELECT ct.id AS clause_text_id, ct.clause_id, ct.version_id, ct.plain_text,
                   char_length(ct.plain_text) AS len,
                   (SELECT min(e.id) FROM revisions_example e WHERE e.clause_text_id = ct.id)
                       AS example_id,
                   dense_rank() OVER (ORDER BY v.label) - 1 AS vrank,
                   row_number() OVER (PARTITION BY ct.version_id ORDER BY md5(ct.anchor)) - 1
                       AS k
            FROM revisions_clausetext ct JOIN revisions_version v ON v.id = ct.version_id
            WHERE v.spec_id = %s
            """,
            [spec.pk],
        )
        cursor.execute("SELECT vrank, count(*) FROM seed_clause GROUP BY vrank ORDER BY vrank")
        per_version = [n for _, n in cursor.fetchall()]
        if not per_version:
            raise BenchError(f"spec {spec_slug} has no clauses: run manage.py bootstrap")
        cursor.execute("SELECT coalesce(max(id), 0) FROM feedback_feedbackitem")
        (base_id,) = cursor.fetchone()

    info = SeedInfo(rows=rows, first_id=base_id + 1, staff_ids=staff_ids, label_ids=label_ids)
    start = 0
    while start < rows:
        count = min(batch, rows - start)
        t0 = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            # A different, fixed seed per batch: reproducible for a given batch size.
            cursor.execute("SELECT setseed(%s)", [math.fmod(seed + start / 7919.0, 1.0)])
            cursor.execute(
                _insert_sql(spec_prefix=spec.tracking_prefix, per_version=per_version,
                            staff_ids=staff_ids),
                {"spec_id": spec.pk, "base_id": base_id, "first": start + 1,
                 "last": start + count, "total": rows, "now": now, "span_days": SPAN_DAYS},
            )  # fmt: skip
            cursor.execute(
                _labels_sql(label_ids),
                {"base_id": base_id, "first": start + 1, "last": start + count},
            )
            # The counters continue from the highest serial issued per (prefix, year).
            cursor.execute(
                """
                INSERT INTO feedback_trackingcounter (prefix, year, last)
                SELECT split_part(tracking_number, '-', 1), split_part(tracking_number, '-', 2)::int,
                       max(split_part(tracking_number, '-', 3)::int)
                FROM feedback_feedbackitem WHERE id BETWEEN %(lo)s AND %(hi)s
                GROUP BY 1, 2
                ON CONFLICT (prefix, year) DO UPDATE
                SET last = greatest(feedback_trackingcounter.last, excluded.last)
                """,
                {"lo": base_id + start + 1, "hi": base_id + start + count},
            )
        info.batches.append(time.monotonic() - t0)
        start += count
        if progress:
            progress(start, rows, time.monotonic() - started)
    with connection.cursor() as cursor:
        for table in ("feedback_feedbackitem", "feedback_feedbackitem_labels"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        cursor.execute("DROP TABLE IF EXISTS seed_clause")
    info.seconds = time.monotonic() - started
    return info


def _insert_sql(*, spec_prefix: str, per_version: list[int], staff_ids: list[int]) -> str:
    """One batch of items, ids base_id + first .. base_id + last. Creation times grow with the
    id over two years, denser towards now; every random draw happens in a subquery level so a
    value used twice is the same value."""
    nv = len(per_version)
    counts = "ARRAY[" + ",".join(str(n) for n in per_version) + "]"
    staff = "ARRAY[" + ",".join(str(n) for n in staff_ids) + "]::int[]"
    n_staff = len(staff_ids)
    summaries = (
        f"{_rand_elem(_array(SUBJECTS), len(SUBJECTS))} || ' ' || "
        f"{_rand_elem(_array(TOPICS), len(TOPICS))} || ' ' || "
        f"{_rand_elem(_array(PROBLEMS), len(PROBLEMS))}"
    )
    sentence = _rand_elem(_array(SENTENCES), len(SENTENCES))
    return f"""
    INSERT INTO feedback_feedbackitem (
        id, tracking_number, spec_id, version_id, clause_id, clause_text_id, example_id,
        quote_exact, quote_prefix, quote_suffix, position_start, position_end,
        kind, severity, summary, body, suggested_text, example_conversation, affiliation,
        conflict_of_interest, visibility, state, submitter_id, submitter_name, submitter_email,
        follow_token_hash, hidden, hidden_reason, hidden_at, endorsement_count, report_count,
        state_changed_at, review_round, assignee_id, duplicate_of_id, resolution,
        created_at, updated_at
    ) OVERRIDING SYSTEM VALUE
    SELECT
        %(base_id)s + p.i,
        p.prefix || '-' || p.year || '-' ||
            CASE WHEN p.serial + coalesce(tc.last, 0) < 100000
                 THEN lpad((p.serial + coalesce(tc.last, 0))::text, 5, '0')
                 ELSE (p.serial + coalesce(tc.last, 0))::text END,
        %(spec_id)s, p.version_id, p.clause_id, p.clause_text_id,
        CASE WHEN p.r_example < {EXAMPLE_SHARE} THEN p.example_id END,
        CASE WHEN p.has_passage THEN substr(p.plain_text, p.pstart + 1, p.plen) ELSE '' END,
        CASE WHEN p.has_passage
             THEN substr(p.plain_text, greatest(p.pstart - 31, 1), least(p.pstart, 32))
             ELSE '' END,
        CASE WHEN p.has_passage THEN substr(p.plain_text, p.pstart + p.plen + 1, 32) ELSE '' END,
        CASE WHEN p.has_passage THEN p.pstart END,
        CASE WHEN p.has_passage THEN p.pstart + p.plen END,
        p.kind, p.severity, p.summary, p.body, p.suggested_text, '[]'::jsonb, p.affiliation,
        '', CASE WHEN p.internal THEN 'internal' ELSE 'public' END, p.state, NULL,
        p.submitter_name, p.submitter_email,
        md5(p.i::text || 'a') || md5(p.i::text || 'b'),
        p.hidden, CASE WHEN p.hidden THEN 'Off-topic' ELSE '' END,
        CASE WHEN p.hidden THEN p.created_at + interval '1 day' END,
        p.endorsements, CASE WHEN p.hidden THEN 3 ELSE 0 END,
        p.state_changed_at, p.review_round, p.assignee_id,
        CASE WHEN p.state = 'duplicate' AND p.i > 1
             THEN %(base_id)s + p.i - 1 - floor(p.r_dup * least(p.i - 1, 5000))::bigint END,
        CASE WHEN p.state IN {CLOSED!r} AND p.state <> 'spam'
             THEN 'Thank you. ' || p.body_alt ELSE '' END,
        p.created_at, coalesce(p.state_changed_at, p.created_at)
    FROM (
        SELECT s.*, c.clause_text_id, c.clause_id, c.version_id, c.plain_text, c.example_id,
               s.r_passage < {PASSAGE_SHARE} AND c.len >= 2 AS has_passage,
               floor(s.r_pstart * greatest(c.len - 1, 1))::int AS pstart,
               greatest(1, least(c.len - floor(s.r_pstart * greatest(c.len - 1, 1))::int,
                                 8 + floor(s.r_plen * 60)::int)) AS plen
        FROM (
            SELECT b.*,
                   row_number() OVER (PARTITION BY b.prefix, b.year ORDER BY b.i) AS serial,
                   CASE WHEN b.state = 'received'
                        THEN CASE WHEN b.r_sca < 0.1 THEN b.created_at
                                  + (%(now)s - b.created_at) * b.r_sc END
                        ELSE b.created_at + (%(now)s - b.created_at) * b.r_sc END
                       AS state_changed_at,
                   CASE WHEN (b.state = 'received' AND b.r_assign < 0.05)
                          OR (b.state IN {WORKING!r} AND b.r_assign < 0.6)
                          OR (b.state IN {CLOSED!r} AND b.r_assign < 0.5)
                        THEN ({staff})[1 + floor(power(b.r_who, 1.5) * {n_staff})::int]
                   END AS assignee_id
            FROM (
                SELECT a.*, extract(year FROM a.created_at)::int AS year,
                       '{spec_prefix}' || CASE WHEN a.internal THEN 'I' ELSE '' END AS prefix,
                       {_pick(STATES, "a.r_state")} AS state,
                       {_pick(KINDS, "a.r_kind")} AS kind,
                       {_pick(SEVERITIES, "a.r_severity")} AS severity
                FROM (
                    SELECT g.i,
                           random() < {INTERNAL_SHARE} AS internal,
                           %(now)s - make_interval(secs => %(span_days)s * 86400.0 * (1 -
                               (0.5 * g.i / %(total)s + 0.5 * sqrt(g.i::float8 / %(total)s))))
                               AS created_at,
                           random() AS r_state, random() AS r_sc, random() AS r_sca,
                           random() AS r_assign, random() AS r_who, random() AS r_dup,
                           random() AS r_passage, random() AS r_pstart, random() AS r_plen,
                           random() AS r_example,
                           {nv} - 1 - floor({nv} * power(random(), 1.8))::int AS vrank,
                           random() AS r_clause,
                           random() AS r_kind, random() AS r_severity,
                           left({summaries}, 200) AS summary,
                           CASE WHEN random() < 0.3 THEN ''
                                ELSE {sentence} || ' ' || {sentence} END AS body,
                           {sentence} AS body_alt,
                           CASE WHEN random() < 0.1 THEN {sentence} ELSE '' END
                               AS suggested_text,
                           CASE WHEN random() < 0.2
                                THEN {_rand_elem(_array(AFFILIATIONS), len(AFFILIATIONS))}
                                ELSE '' END AS affiliation,
                           CASE WHEN random() < 0.5
                                THEN {_rand_elem(_array(NAMES), len(NAMES))}
                                ELSE '' END AS submitter_name,
                           CASE WHEN random() < 0.6 THEN 'reader' || g.i || '@example.org'
                                ELSE '' END AS submitter_email,
                           random() < {HIDDEN_SHARE} AS hidden_draw,
                           -- a long tail: most items have none, a few have thousands
                           least(5000, floor(1 / power(1 - random(), 0.8))::int - 1)
                               AS endorsements_draw,
                           CASE WHEN random() < 0.03 THEN 2 ELSE 1 END AS review_round
                    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g(i)
                ) a
            ) b
        ) s0
        CROSS JOIN LATERAL (
            SELECT s0.*,
                   floor(({counts})[s0.vrank + 1] * power(s0.r_clause, 3))::int AS k,
                   s0.hidden_draw AND NOT s0.internal AS hidden,
                   CASE WHEN s0.internal THEN 0 ELSE s0.endorsements_draw END AS endorsements
        ) s
        JOIN seed_clause c ON c.vrank = s.vrank AND c.k = s.k
    ) p
    LEFT JOIN feedback_trackingcounter tc ON tc.prefix = p.prefix AND tc.year = p.year
    """


def _labels_sql(label_ids: list[int]) -> str:
    """Labels for a quarter of the batch's items, some labels far more used than others; a fifth
    of the labelled items carry a second, different label."""
    n = len(label_ids)
    labels = "ARRAY[" + ",".join(str(x) for x in label_ids) + "]::bigint[]"
    return f"""
    INSERT INTO feedback_feedbackitem_labels (feedbackitem_id, label_id)
    SELECT %(base_id)s + d.i, ({labels})[1 + x.slot]
    FROM (
        SELECT g.i, random() AS r, floor(power(random(), 1.7) * {n})::int AS a,
               floor(random() * {n - 1})::int AS step
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g(i)
    ) d
    CROSS JOIN LATERAL (VALUES (d.a), (CASE WHEN d.r < {LABEL_SHARE / 5} THEN
                                          mod(d.a + 1 + d.step, {n}) END)) AS x(slot)
    WHERE d.r < {LABEL_SHARE} AND x.slot IS NOT NULL
    """


BULK_TABLES = ("feedback_feedbackitem", "feedback_feedbackitem_labels")


def secondary_indexes_drop() -> list[tuple[str, str]]:
    """Drop the indexes of the seeded tables that no constraint owns, for a fast bulk load;
    returns (name, definition) pairs for `secondary_indexes_restore`. Primary keys and unique
    constraints stay, so the load still checks what they guarantee."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                              WHERE c.conindid = (quote_ident(i.indexname))::regclass)
            ORDER BY i.indexname
            """,
            [list(BULK_TABLES)],
        )
        dropped = cursor.fetchall()
        for name, _ in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
    return dropped


def secondary_indexes_restore(dropped: list[tuple[str, str]]) -> None:
    """Rebuild the dropped indexes from their own definitions (with memory for the sorts)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in dropped:
            cursor.execute(definition)
        cursor.execute("RESET maintenance_work_mem")


# --- what is measured -------------------------------------------------------------------------

QUEUE = "/staff/queue/"
TRACKER = "/feedback/"
API = "/api/v1/feedback/"
DEEP_PAGES = 200  # how many `next` links the deep-cursor cases follow (25 rows a page)
QUEUE_DEEP_PAGES = 100  # the same in the queue (50 rows a page)


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # "{hot}", "{rare}" and "{me}" are filled from the data
    who: str = "staff"  # "staff" (signed in, two-factor) or "public"
    deep: str = ""  # "" first page; "follow": `pages` `next` links in; "middle": a cursor
    # built from the row halfway down the list
    pages: int = DEEP_PAGES


def _q(**params: str) -> str:
    return urlencode(params)


CASES = [
    # The staff triage queue, first page (50 rows), each filter alone...
    Case("queue: default (active, oldest waiting)", QUEUE),
    Case("queue: state=received", f"{QUEUE}?{_q(state='received')}"),
    Case("queue: state=needs_info", f"{QUEUE}?{_q(state='needs_info')}"),
    Case("queue: state=withdrawn (rare)", f"{QUEUE}?{_q(state='withdrawn')}"),
    Case("queue: state=closed", f"{QUEUE}?{_q(state='closed')}"),
    Case("queue: state=all", f"{QUEUE}?{_q(state='all')}"),
    Case("queue: kind=conflict", f"{QUEUE}?{_q(kind='conflict')}"),
    Case("queue: spec", f"{QUEUE}?{_q(spec='model-spec')}"),
    Case("queue: version (oldest)", f"{QUEUE}?{_q(version='2025-02-12')}"),
    Case("queue: clause (hottest)", f"{QUEUE}?clause={{hot}}"),
    Case("queue: clause (rare)", f"{QUEUE}?clause={{rare}}"),
    Case("queue: authority=root", f"{QUEUE}?{_q(authority='root')}"),
    Case("queue: rank=1 (system)", f"{QUEUE}?{_q(rank='1')}"),
    Case("queue: assignee=me", f"{QUEUE}?{_q(assignee='me')}"),
    Case("queue: assignee=none", f"{QUEUE}?{_q(assignee='none')}"),
    Case("queue: assignee=<name>", f"{QUEUE}?{_q(assignee=STAFF[5])}"),
    Case("queue: label=good-first (rare)", f"{QUEUE}?{_q(label='good-first')}"),
    Case("queue: label=safety", f"{QUEUE}?{_q(label='safety')}"),
    Case("queue: visibility=internal", f"{QUEUE}?{_q(visibility='internal')}"),
    Case("queue: has_passage=yes", f"{QUEUE}?{_q(has_passage='yes')}"),
    Case("queue: endorsements>=100", f"{QUEUE}?{_q(endorsements='100')}"),
    Case("queue: age>=30 days", f"{QUEUE}?{_q(age='30')}"),
    Case("queue: age>=600 days", f"{QUEUE}?{_q(age='600')}"),
    # ... the other sorts ...
    Case("queue: sort=newest", f"{QUEUE}?{_q(sort='newest')}"),
    Case("queue: sort=endorsed", f"{QUEUE}?{_q(sort='endorsed')}"),
    Case("queue: sort=severity", f"{QUEUE}?{_q(sort='severity')}"),
    # ... and common combinations.
    Case("queue: state=triaged + clause (hot)", f"{QUEUE}?{_q(state='triaged')}&clause={{hot}}"),
    Case("queue: state=in_review + assignee=me", f"{QUEUE}?{_q(state='in_review', assignee='me')}"),
    Case("queue: kind + authority + age", f"{QUEUE}?{_q(kind='disagree', authority='root', age='30')}"),
    Case("queue: label=safety + state=triaged", f"{QUEUE}?{_q(label='safety', state='triaged')}"),
    Case("queue: received + unassigned + passage", f"{QUEUE}?{_q(state='received', assignee='none', has_passage='yes')}"),
    Case("queue: version + clause (rare) + kind", f"{QUEUE}?{_q(version='2025-09-12')}&clause={{rare}}&{_q(kind='unclear')}"),
    Case(f"queue: {QUEUE_DEEP_PAGES} pages deep (follow)", QUEUE, deep="follow", pages=QUEUE_DEEP_PAGES),
    # The staff API takes the queue's filters too.
    Case("staff API: state=triaged + assignee=me", f"{API}?{_q(state='triaged', assignee='me')}"),
    Case("staff API: kind + authority + age", f"{API}?{_q(kind='disagree', authority='root', age='30')}"),
    # The public tracker and the public API, first page and deep.
    Case("tracker: first page", TRACKER, who="public"),
    Case(f"tracker: {DEEP_PAGES} pages deep (follow)", TRACKER, who="public", deep="follow"),
    Case("tracker: middle row (cursor)", TRACKER, who="public", deep="middle"),
    Case("tracker: endorsed, middle row", f"{TRACKER}?{_q(sort='endorsed')}", who="public", deep="middle"),
    Case("tracker: clause (hot), middle row", f"{TRACKER}?clause={{hot}}", who="public", deep="middle"),
    Case("public API: first page", API, who="public"),
    Case(f"public API: {DEEP_PAGES} pages deep (follow)", API, who="public", deep="follow"),
    Case("public API: middle row (cursor)", API, who="public", deep="middle"),
    Case("public API: most_endorsed, middle row", f"{API}?{_q(ordering='most_endorsed')}", who="public", deep="middle"),
]  # fmt: skip


@dataclass
class Measured:
    case: Case
    url: str
    status: int
    queries: int
    rows: int | None
    times_ms: list[float]
    slowest_sql: str = ""
    slowest_ms: float = 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


_TEST_ENVIRONMENT = False


class Measurer:
    """In-process requests through Django's test Client: the whole middleware stack, the
    template and every query, without a network hop."""

    def __init__(self) -> None:
        from django.test import Client
        from django.test.utils import setup_test_environment

        global _TEST_ENVIRONMENT
        if not _TEST_ENVIRONMENT:
            setup_test_environment()  # the test client's host name, in-memory e-mail
            _TEST_ENVIRONMENT = True
        self.public = Client()
        self.staff = Client()
        self.staff_user = None

    def sign_in_staff(self, username: str) -> None:
        from allauth.account.internal.flows.login import (
            _AUTHENTICATION_METHODS_USER_SESSION_KEY,
            AUTHENTICATION_METHODS_SESSION_KEY,
        )
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username=username)
        self.staff.force_login(user)
        session = self.staff.session
        # What allauth records after a password and a TOTP code (see tests/conftest.py).
        session[AUTHENTICATION_METHODS_SESSION_KEY] = [
            {"method": "password", "at": time.time(), "username": username},
            {"method": "mfa", "at": time.time(), "type": "totp"},
        ]
        session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
        session.save()
        self.staff_user = user

    def client(self, case: Case):
        return self.public if case.who == "public" else self.staff

    def get(self, case: Case, url: str):
        response = self.client(case).get(url, headers={"accept": "text/html,application/json"})
        if response.status_code != 200:
            raise BenchError(
                f"{case.name}: GET {url} answered {response.status_code}, not 200: "
                f"{response.content[:300]!r}"
            )
        return response

    def resolve(self, case: Case, fill: dict[str, str]) -> str:
        """The URL to measure: the case's path, filled, and for deep cases its cursor."""
        url = case.path.format(**fill)
        if case.deep == "follow":
            for _ in range(case.pages):
                following = next_link(self.get(case, url))
                if following is None:
                    raise BenchError(f"{case.name}: fewer than {case.pages} pages")
                url = following
        elif case.deep == "middle":
            url = middle_cursor_url(case, url)
        return url

    def measure(self, case: Case, url: str, repeat: int) -> Measured:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        for _ in range(2):  # warm: the worker's code paths, the template, PostgreSQL's cache
            self.get(case, url)
        with CaptureQueriesContext(connection) as ctx:
            response = self.get(case, url)
        # Read now: every request starts by clearing the connection's query log.
        captured = list(ctx.captured_queries)
        slowest = max(captured, key=lambda q: float(q["time"]), default=None)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            self.get(case, url)
            times.append((time.perf_counter() - t0) * 1000)
        return Measured(
            case=case,
            url=url,
            status=response.status_code,
            queries=len(captured),
            rows=rows_shown(response),
            times_ms=times,
            slowest_sql=slowest["sql"] if slowest else "",
            slowest_ms=float(slowest["time"]) * 1000 if slowest else 0.0,
        )


def next_link(response) -> str | None:
    """The `next` page of an HTML list (rel="next") or an API list ("next")."""
    import re
    from html import unescape
    from urllib.parse import urlsplit

    if response["Content-Type"].startswith("application/json"):
        following = response.json().get("next")
        if not following:
            return None
        parts = urlsplit(following)
        return f"{parts.path}?{parts.query}"
    html = response.content.decode()
    match = re.search(r'<a\b[^>]*\brel="next"[^>]*\bhref="([^"]+)"', html) or re.search(
        r'<a\b[^>]*\bhref="([^"]+)"[^>]*\brel="next"', html
    )
    return unescape(match.group(1)) if match else None


def rows_shown(response) -> int | None:
    if response["Content-Type"].startswith("application/json"):
        return len(response.json().get("results", []))
    return None


def middle_cursor_url(case: Case, url: str) -> str:
    """`url` with a cursor placed at the row halfway down the list it shows (the same rows the
    page would, so the cursor is one the site itself could have issued)."""
    from urllib.parse import parse_qs, urlsplit

    from django.contrib.auth.models import AnonymousUser
    from django.db.models import Count

    from feedback import listing
    from feedback.api import pagination
    from feedback.api import selectors as api_selectors
    from feedback.models import FeedbackItem

    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    public = AnonymousUser()
    if parts.path == TRACKER:
        sort = query.get("sort", "newest")
        filters = listing.TrackerFilters(**{k: v for k, v in query.items() if k != "cursor"})
        queryset = listing.feedback_visible_to(public)
        if filters.narrows_by_content or sort == "endorsed":
            queryset = queryset.filter(hidden=False)
        if filters.clause:
            queryset = queryset.filter(clause_text__anchor=filters.clause)
        ordering = listing.SORTS[sort]
    else:
        sort = query.get("ordering", "newest")
        queryset = api_selectors.feedback_api_list(viewer=public, filters=query)
        ordering = api_selectors.ORDERINGS[sort]
    total = queryset.order_by().aggregate(n=Count("id"))["n"]
    row = queryset.order_by(*ordering)[total // 2]
    if parts.path == TRACKER:
        cursor = listing._cursor_make(sort, row, "after")
    else:
        key = [pagination._value(row, name.lstrip("-")) for name in ordering]
        cursor = pagination._encode(sort, key, False)
    query["cursor"] = cursor
    assert isinstance(row, FeedbackItem)
    return f"{parts.path}?{urlencode(query)}"


def data_fill(staff_username: str) -> dict[str, str]:
    """The clause anchors the cases name: the one with the most items, and one with few."""
    from django.db.models import Count

    from feedback.models import FeedbackItem

    by_anchor = list(
        FeedbackItem.objects.order_by()
        .values("clause_text__anchor")
        .annotate(n=Count("id"))
        .order_by("-n", "clause_text__anchor")
    )
    hot = by_anchor[0]["clause_text__anchor"]
    # "rare": the least used anchor that still has a few dozen items at the small size.
    rare_candidates = [row for row in by_anchor if row["n"] >= 20] or by_anchor
    rare = rare_candidates[-1]["clause_text__anchor"]
    return {"hot": hot, "rare": rare, "me": staff_username}


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


# --- the run ----------------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [str(PY), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{result.stderr.strip()}")


def items_clear() -> None:
    """Remove seeded items (and their labels and counters) between the two sizes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE feedback_feedbackitem_labels, feedback_feedbackitem, "
            "feedback_trackingcounter CASCADE"
        )


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("feedback_feedbackitem", "feedback_feedbackitem_labels", "feedback_label"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def load(rows: int, *, fast: bool) -> SeedInfo:
    """Seed `rows` items into an empty table; with `fast`, secondary indexes are dropped during
    the load and rebuilt after it."""
    t0 = time.monotonic()
    dropped = secondary_indexes_drop() if fast else []

    def progress(done: int, total: int, seconds: float) -> None:
        if total > BATCH:
            say(f"   {done:>9,} / {total:,} rows  {seconds:6.1f} s")

    info = seed_items(rows, progress=progress)
    t1 = time.monotonic()
    if dropped:
        secondary_indexes_restore(dropped)
    t2 = time.monotonic()
    vacuum_analyze()
    t3 = time.monotonic()
    say(
        f"   {rows:,} rows: insert {t1 - t0:.1f} s, indexes {t2 - t1:.1f} s, "
        f"VACUUM ANALYZE {t3 - t2:.1f} s; total {t3 - t0:.1f} s"
    )
    info.seconds = t3 - t0
    return info


def spread_report() -> list[str]:
    """What the seeded data looks like, for the record."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*),
                   round(100.0 * count(*) FILTER (WHERE visibility = 'internal') / count(*), 1),
                   round(100.0 * count(*) FILTER (WHERE state IN
                         ('received', 'triaged', 'in_review')) / count(*), 1),
                   round(100.0 * count(*) FILTER (WHERE position_start IS NOT NULL) / count(*), 1),
                   round(100.0 * count(*) FILTER (WHERE assignee_id IS NOT NULL) / count(*), 1),
                   round(100.0 * count(*) FILTER (WHERE endorsement_count = 0) / count(*), 1),
                   max(endorsement_count), min(created_at)::date, max(created_at)::date,
                   count(DISTINCT clause_text_id)
            FROM feedback_feedbackitem
            """
        )
        n, internal, waiting, passage, assigned, no_endorse, max_e, first, last, clauses = (
            cursor.fetchone()
        )
        cursor.execute(
            """
            SELECT round(100.0 * sum(n) FILTER (WHERE r <= 10) / sum(n), 1) FROM (
                SELECT count(*) AS n, row_number() OVER (ORDER BY count(*) DESC) AS r
                FROM feedback_feedbackitem GROUP BY clause_text_id) x
            """
        )
        (top10,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(DISTINCT feedbackitem_id) * 100.0 / greatest(%s, 1) "
            "FROM feedback_feedbackitem_labels",
            [n],
        )
        (labelled,) = cursor.fetchone()
    return [
        f"   {n:,} items, {internal}% internal, {waiting}% received/triaged/in review, "
        f"{passage}% with a passage, {assigned}% assigned, {float(labelled):.1f}% labelled,",
        f"   {no_endorse}% without endorsements (max {max_e}), created {first} .. {last}, "
        f"{clauses} clause texts, the 10 busiest hold {top10}% of the items",
    ]


def measure_all(
    measurer: Measurer, repeat: int, fill: dict[str, str]
) -> tuple[dict[str, Measured], dict[str, str]]:
    """Every case; {name: reason} for the cases the site cannot answer yet (a 400 naming an
    unknown parameter: a filter not built)."""
    results, skipped = {}, {}
    for case in CASES:
        try:
            url = measurer.resolve(case, fill)
            results[case.name] = measurer.measure(case, url, repeat)
        except BenchError as exc:
            if case.path.startswith(API) and "answered 400" in str(exc):
                skipped[case.name] = str(exc)[:200]
                continue
            raise
    return results, skipped


def run(args: argparse.Namespace, stack: Stack) -> bool:
    database_url = args.database
    if database_url:
        say("== using --database (its feedback items are deleted and replaced)")
    else:
        database_url = stack.start_postgres()
    env = bench_env(database_url)

    migrate_and_bootstrap(env)

    # From here on, Django runs in this process against that database.
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    sizes = [("small", args.small_rows), ("large", args.rows)]
    if args.small_rows >= args.rows:
        sizes = [("large", args.rows)]
    measured: dict[str, dict[str, Measured]] = {}
    skipped: dict[str, str] = {}
    seed_seconds = 0.0
    for size_name, rows in sizes:
        say(f"== seeding {rows:,} feedback items")
        items_clear()
        info = load(rows, fast=rows > BATCH)
        if size_name == "large":
            seed_seconds = info.seconds
        for line in spread_report():
            say(line)
        measurer = Measurer()
        measurer.sign_in_staff(STAFF[0])
        fill = data_fill(STAFF[0])
        repeat = args.repeat if size_name == "large" else max(3, args.repeat // 4)
        say(
            f"== measuring {len(CASES)} cases at {rows:,} rows, {repeat} timed requests each "
            f"(in-process, Django test Client); hot clause {fill['hot']}, rare {fill['rare']}"
        )
        load_before = os.getloadavg()[0]
        measured[size_name], skipped = measure_all(measurer, repeat, fill)
        say(f"   load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
        connection.close()

    return report(args, measured, skipped, seed_seconds)


def report(args, measured: dict[str, dict[str, Measured]], skipped, seed_seconds) -> bool:
    large = measured["large"]
    small = measured.get("small", {})
    ok = True
    say("")
    header = (
        f"{'case':<44} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'SQL':>4} {'SQL@small':>9} "
        f"{'slowest SQL ms':>14}  verdict"
    )
    say(header)
    say("-" * len(header))
    misses: list[Measured] = []
    for case in CASES:
        if case.name in skipped:
            say(f"{case.name:<44} {'':>7} {'':>7} {'':>7} {'':>4} {'':>9} {'':>14}  NOT MEASURED")
            continue
        m = large[case.name]
        s = small.get(case.name)
        fast = m.p95 < TARGET_P95_MS
        flat = s is None or s.queries == m.queries
        ok &= fast and flat
        if not fast:
            misses.append(m)
        verdict = (
            "PASS"
            if fast and flat
            else "FAIL" + ("" if fast else " (p95)") + ("" if flat else " (queries grow)")
        )
        say(
            f"{case.name:<44} {m.p50:>7.1f} {m.p95:>7.1f} {max(m.times_ms):>7.1f} "
            f"{m.queries:>4} {s.queries if s else '-':>9} {m.slowest_ms:>14.1f}  {verdict}"
        )
    rows = args.rows
    say(
        f"p50/p95/max: {args.repeat} warm requests per case at {rows:,} rows, in-process "
        "(Django test Client: middleware, view, template, every query; no network). SQL: queries "
        f"per request at {rows:,} rows and at {args.small_rows:,} rows."
    )
    say(f"seeding {rows:,} rows took {seed_seconds:.0f} s (insert, indexes, VACUUM ANALYZE)")
    for name, reason in skipped.items():
        say(f"NOT MEASURED: {name}: {reason}")
    for m in misses:
        say("")
        say(f"== plan of the slowest query of '{m.case.name}' ({m.slowest_ms:.1f} ms), {m.url}")
        say(m.slowest_sql[:3000])
        try:
            say(explain(m.slowest_sql))
        except Exception as exc:  # a plan is a help, not the result
            say(f"(EXPLAIN failed: {exc})")
    say("")
    say(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="items (1,000,000)")
    parser.add_argument(
        "--small-rows", type=int, default=10_000, help="items for the query-count baseline"
    )
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per case (20)")
    parser.add_argument(
        "--database",
        default="",
        help="an existing database URL to use instead of a throwaway PostgreSQL: every "
        "feedback item in it is DELETED (DATABASE_URL is ignored on purpose)",
    )
    args = parser.parse_args()

    return guarded_run(run, args, _ClosingStack(), "== stopping the throwaway PostgreSQL")


class _ClosingStack(Stack):
    """Closes this process's Django connections before stopping the database it uses."""

    def close(self) -> None:
        with contextlib.suppress(Exception):  # Django may never have been set up
            from django.db import connections

            connections.close_all()
        super().close()


if __name__ == "__main__":
    sys.exit(main())
