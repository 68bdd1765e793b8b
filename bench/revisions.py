"""The revisions benchmark: compare (cold and cached) and publishing with 100,000 open items.

Targets (issue 5): compare < 300 ms cold and < 20 ms cached. Each section runs in a child
process with the bench settings and database (Django test client, in-process: what is measured
is the request through the site's middleware, the view, the queries and the comparison itself,
without a network in between) and prints one JSON line; this script prints a table and exits
0 when every target is met, 1 when one is missed, 2 when the run could not happen.

    make bench-revisions                   # or: .venv/bin/python bench/revisions.py
    .venv/bin/python bench/revisions.py --runs 15 --only compare

    .venv/bin/python bench/revisions.py --only publish --items 20000

Sections are listed in SECTIONS: a function run in the child that returns rows of (case,
measured ms or None, target ms or None, note). "publish" (target < 60 s) seeds open items on
2025-09-12, imports an edited draft and publishes it with `version_publish`, timing each
progress step; "compare" runs again after it. See bench/README.md."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

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

COMPARE_FROM, COMPARE_TO = "2025-04-11", "2025-09-12"  # the two largest bundled versions
COMPARE_COLD_MS = 300
COMPARE_CACHED_MS = 20

Row = tuple[str, float, float | None, str]


def _timed(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def compare_section(runs: int) -> list[Row]:
    """GET api/v1/specs/model-spec/compare/2025-04-11/2025-09-12/ with no stored comparison
    (cold: computed and stored) and with one (cached: the stored JSON served as it is)."""
    from django.test import Client

    from revisions.compare import compare_versions, comparison_key
    from revisions.models import Comparison, Version

    client = Client()
    url = f"/api/v1/specs/model-spec/compare/{COMPARE_FROM}/{COMPARE_TO}/"
    older = Version.objects.select_related("spec").get(spec__slug="model-spec", label=COMPARE_FROM)
    newer = Version.objects.select_related("spec").get(spec__slug="model-spec", label=COMPARE_TO)
    key = comparison_key(older, newer)

    def get() -> bytes:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} returned {response.status_code}")
        return response.content

    def cold() -> None:
        Comparison.objects.filter(key=key).delete()
        get()

    get()  # warm the process: imports, URL resolving, template loading
    cold_ms = _timed(cold, runs)
    body = get()
    cached_ms = _timed(get, max(runs, 20))
    direct_ms = _timed(lambda: compare_versions(older, newer), runs)
    data = json.loads(body)
    summary = ", ".join(f"{k} {v}" for k, v in data["summary"].items() if v)
    return [
        ("compare cold (API, computed and stored)", statistics.median(cold_ms), COMPARE_COLD_MS,
         f"max {max(cold_ms):.0f} ms; {len(body) // 1024} KB; lineage {data['lineage']}"),
        ("compare cached (API, stored JSON)", statistics.median(cached_ms), COMPARE_CACHED_MS,
         f"max {max(cached_ms):.1f} ms"),
        ("compare_versions() alone", statistics.median(direct_ms), None, summary),
    ]  # fmt: skip


# --- Publish: a new version with 100,000 open items to carry forward --------------------------

PUBLISH_FROM = "2025-09-12"  # the published version the items are on
PUBLISH_LABEL = "2099-01-01-bench"  # the draft this benchmark publishes
PUBLISH_TARGET_MS = 60_000
ITEMS_DEFAULT = 100_000
# (state, weight): every item is open (what publishing carries forward).
OPEN_STATES = [("received", 40), ("triaged", 25), ("in_review", 20), ("needs_info", 8),
               ("accepted", 7)]  # fmt: skip
SEED_PASSAGE_SHARE = 0.85  # items quoting a passage; the rest are on a clause as a whole
SEED_INTERNAL_SHARE = 0.03
SEED_HIDDEN_SHARE = 0.005
SEED_EMAIL_SHARE = 0.6  # public items whose submitter left an address (carried e-mails)
PASSAGES_PER_CLAUSE = 1_000  # candidate passages per clause: most quotes are distinct
SEED_BATCH = 50_000
REWRITTEN = "This sentence was rewritten for the benchmark, so what it says has changed."
HEADING = re.compile(r"^(#{1,6}) .*\{#([A-Za-z0-9_-]+)[^}]*\}\s*$")


def _passages(plain: str, rng: random.Random) -> list[tuple[int, int]]:
    """Word-aligned passages of a clause's plain text (3 to 14 words), as a reader would
    select them: (start, end) character offsets."""
    words = [m.span() for m in re.finditer(r"\S+", plain)]
    if len(words) < 3:
        return []
    spans = []
    for _ in range(PASSAGES_PER_CLAUSE):
        first = rng.randrange(len(words))
        last = min(len(words) - 1, first + rng.randint(2, 13))
        spans.append((words[first][0], words[last][1]))
    return spans


def seed_open_items(version, n: int) -> dict:
    """`n` open items on `version`'s clauses, by SQL (`INSERT ... SELECT` over
    `generate_series`, `SEED_BATCH` rows per statement): popular clauses get more (a power
    law over a shuffled clause order), most quote a word-aligned passage of the clause's plain
    text with 32 characters of context each side, some are internal (MSI- numbers) or hidden.
    Tracking numbers continue from `feedback_trackingcounter`, which is advanced. No ledger
    events: the items are the load, not what is measured."""
    from django.db import connection, transaction
    from django.utils import timezone

    from revisions.models import ClauseText

    rng = random.Random(20250912)
    texts = list(ClauseText.objects.filter(version=version).order_by("position"))
    rng.shuffle(texts)
    clause_rows, passage_rows = [], []
    for k, text in enumerate(texts):
        spans = _passages(text.plain_text, rng)
        clause_rows.append((k, text.pk, text.clause_id, len(spans)))
        passage_rows += [(text.pk, j, a, b) for j, (a, b) in enumerate(spans)]
    now = timezone.now()
    year = now.year
    spec = version.spec
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seed_clause, seed_passage")
        cursor.execute(
            "CREATE TEMP TABLE seed_clause (k int PRIMARY KEY, clause_text_id bigint, "
            "clause_id bigint, n_passages int)"
        )
        cursor.execute(
            "CREATE TEMP TABLE seed_passage (clause_text_id bigint, j int, pstart int, "
            "pend int, PRIMARY KEY (clause_text_id, j))"
        )
        cursor.executemany("INSERT INTO seed_clause VALUES (%s, %s, %s, %s)", clause_rows)
        with cursor.copy("COPY seed_passage FROM STDIN") as copy:
            for row in passage_rows:
                copy.write_row(row)
        cursor.execute("SELECT coalesce(max(id), 0) FROM feedback_feedbackitem")
        (base_id,) = cursor.fetchone()
    done = 0
    while done < n:
        count = min(SEED_BATCH, n - done)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [(0.25 + done / 1_000_003) % 1])
            cursor.execute(
                _seed_sql(len(texts)),
                {"base_id": base_id, "first": done + 1, "last": done + count, "now": now,
                 "year": year, "spec_id": spec.pk, "version_id": version.pk,
                 "public": spec.tracking_prefix, "internal": spec.tracking_prefix + "I"},
            )  # fmt: skip
            cursor.execute(
                """
                INSERT INTO feedback_trackingcounter (prefix, year, last)
                SELECT split_part(tracking_number, '-', 1), %(year)s,
                       max(split_part(tracking_number, '-', 3)::int)
                FROM feedback_feedbackitem WHERE id > %(lo)s
                GROUP BY 1
                ON CONFLICT (prefix, year) DO UPDATE
                SET last = greatest(feedback_trackingcounter.last, excluded.last)
                """,
                {"year": year, "lo": base_id + done},
            )
        done += count
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('feedback_feedbackitem', 'id'), "
            "(SELECT max(id) FROM feedback_feedbackitem))"
        )
        cursor.execute("ANALYZE feedback_feedbackitem")
        cursor.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE quote_exact <> ''),
                   count(*) FILTER (WHERE visibility = 'internal'), count(*) FILTER (WHERE hidden),
                   count(*) FILTER (WHERE submitter_email <> ''), count(DISTINCT clause_text_id),
                   count(DISTINCT (clause_text_id, position_start, position_end))
                       FILTER (WHERE quote_exact <> '')
            FROM feedback_feedbackitem WHERE version_id = %s
            """,
            [version.pk],
        )
        total, passages, internal, hidden, emails, clauses, distinct = cursor.fetchone()
    return {"items": total, "with passage": passages, "distinct passages": distinct,
            "internal": internal, "hidden": hidden, "with e-mail": emails,
            "clauses": clauses}  # fmt: skip


def _seed_sql(n_clauses: int) -> str:
    states = "ARRAY[" + ",".join(f"'{s}'" for s, w in OPEN_STATES for _ in range(w)) + "]"
    n_states = sum(w for _, w in OPEN_STATES)
    return f"""
    INSERT INTO feedback_feedbackitem (
        id, tracking_number, spec_id, version_id, clause_id, clause_text_id,
        quote_exact, quote_prefix, quote_suffix, position_start, position_end,
        kind, severity, summary, body, suggested_text, example_conversation, affiliation,
        conflict_of_interest, visibility, state, submitter_name, submitter_email,
        follow_token_hash, hidden, hidden_reason, hidden_at, endorsement_count, report_count,
        state_changed_at, review_round, resolution, anchor_outcome, created_at, updated_at
    ) OVERRIDING SYSTEM VALUE
    SELECT
        %(base_id)s + q.i,
        q.prefix || '-' || %(year)s || '-' || lpad((q.serial + coalesce(tc.last, 0))::text, 5, '0'),
        %(spec_id)s, %(version_id)s, q.clause_id, q.clause_text_id,
        coalesce(substr(ct.plain_text, q.pstart + 1, q.pend - q.pstart), ''),
        CASE WHEN q.pstart IS NULL THEN ''
             ELSE substr(ct.plain_text, greatest(q.pstart - 31, 1), least(q.pstart, 32)) END,
        coalesce(substr(ct.plain_text, q.pend + 1, 32), ''),
        q.pstart, q.pend,
        'unclear', 'medium', 'Benchmark item ' || q.i, 'Carried forward by the benchmark.', '',
        '[]'::jsonb, '', '', CASE WHEN q.internal THEN 'internal' ELSE 'public' END, q.state, '',
        CASE WHEN NOT q.internal AND q.r_email < {SEED_EMAIL_SHARE}
             THEN 'reader' || q.i || '@example.org' ELSE '' END,
        md5(q.i::text || 'a') || md5(q.i::text || 'b'),
        q.hidden, CASE WHEN q.hidden THEN 'Off-topic' ELSE '' END,
        CASE WHEN q.hidden THEN %(now)s END, 0, 0,
        CASE WHEN q.state <> 'received' THEN %(now)s END, 1, '', '', %(now)s, %(now)s
    FROM (
        SELECT r.*, c.clause_text_id, c.clause_id,
               CASE WHEN r.r_passage < {SEED_PASSAGE_SHARE} AND c.n_passages > 0
                    THEN p.pstart END AS pstart,
               CASE WHEN r.r_passage < {SEED_PASSAGE_SHARE} AND c.n_passages > 0
                    THEN p.pend END AS pend,
               row_number() OVER (PARTITION BY r.prefix ORDER BY r.i) AS serial
        FROM (
            SELECT a.*, CASE WHEN a.internal THEN %(internal)s ELSE %(public)s END AS prefix,
                   NOT a.internal AND a.r_hidden < {SEED_HIDDEN_SHARE} AS hidden,
                   ({states})[1 + floor(a.r_state * {n_states})::int] AS state
            FROM (
                SELECT g.i, random() < {SEED_INTERNAL_SHARE} AS internal, random() AS r_hidden,
                       random() AS r_state, random() AS r_passage, random() AS r_email,
                       floor({n_clauses} * power(random(), 2))::int AS k, random() AS r_j
                FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g(i)
            ) a
        ) r
        JOIN seed_clause c ON c.k = r.k
        LEFT JOIN seed_passage p
               ON p.clause_text_id = c.clause_text_id
              AND p.j = floor(r.r_j * greatest(c.n_passages, 1))::int
    ) q
    JOIN revisions_clausetext ct ON ct.id = q.clause_text_id
    LEFT JOIN feedback_trackingcounter tc ON tc.prefix = q.prefix AND tc.year = %(year)s
    """


def _sections(source: str) -> list[tuple[int, int, int, str]]:
    """(first line, end line, level, anchor) of every clause in a Markdown source; a clause's
    lines run to the next heading of its level or higher (its subsections included)."""
    lines = source.split("\n")
    heads, fence = [], None
    for n, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("~~~", "```")):
            mark = stripped[:3]
            fence = None if fence == mark else (fence or mark)
            continue
        if fence is None and (m := HEADING.match(line)):
            heads.append((n, len(m.group(1)), m.group(2)))
    out = []
    for i, (start, level, anchor) in enumerate(heads):
        end = next((s for s, lv, _ in heads[i + 1 :] if lv <= level), len(lines))
        out.append((start, end, level, anchor))
    return out


def draft_source(version) -> tuple[bytes, list[str]]:
    """`version`'s Markdown with an editor's realistic changes: a word changed in the first
    sentence of six clauses, a sentence rewritten in six others, one clause removed, one id
    renamed and one clause moved under another parent. Returns the bytes and what changed."""
    from revisions.models import ClauseText

    source = version.source_markdown
    if isinstance(source, bytes | memoryview):
        source = bytes(source).decode("utf-8")
    texts = list(ClauseText.objects.filter(version=version).order_by("position"))
    changes: list[str] = []
    edited: set[str] = set()
    candidates = sorted(texts, key=lambda t: -len(t.plain_text))
    for text in candidates:
        if len(edited) == 12:
            break
        sentences = re.findall(r"[A-Z][^.\n]{40,}?\.(?= |\n)", text.body_markdown)
        sentences = [x for x in sentences if source.count(x) == 1 and "*" not in x]
        if len(sentences) < 2:
            continue
        if len(edited) < 6:  # a word changed, in the middle of the first sentence
            words = sentences[0].split(" ")
            mid = len(words) // 2
            words[mid] = "carefully " + words[mid]
            words[mid + 1 :] = [w.replace("the", "this", 1) for w in words[mid + 1 :]]
            source = source.replace(sentences[0], " ".join(words))
            changes.append(f"edited a sentence of #{text.anchor}")
        else:  # the second sentence rewritten
            source = source.replace(sentences[1], REWRITTEN)
            changes.append(f"rewrote a sentence of #{text.anchor}")
        edited.add(text.anchor)
    lines = source.split("\n")
    sections = _sections(source)
    leaves = [s for i, s in enumerate(sections)
              if s[3] not in edited and s[2] >= 2
              and (i + 1 == len(sections) or sections[i + 1][2] <= s[2])]  # fmt: skip
    removed, renamed, moved = leaves[len(leaves) // 3], leaves[len(leaves) // 2], leaves[-3]
    target = next(s for s in reversed(leaves) if s[2] == moved[2] and s[0] < moved[0] - 200)
    # Rename: the id changes, the text stays.
    start = renamed[0]
    lines[start] = lines[start].replace("{#" + renamed[3], "{#" + renamed[3] + "_renamed")
    changes += [f"renamed #{renamed[3]}", f"removed #{removed[3]}",
                f"moved #{moved[3]} after #{target[3]}"]  # fmt: skip
    block = lines[moved[0] : moved[1]]
    keep = [(a, b) for a, b, *_ in (removed, moved)]
    out: list[str] = []
    for n, line in enumerate(lines):
        if any(a <= n < b for a, b in keep):
            continue
        out.append(line)
        if n == target[1] - 1:
            out += block
    return "\n".join(out).encode("utf-8"), changes


def publish_section(items: int) -> list[Row]:
    """Seed `items` open items on 2025-09-12, import an edited draft of it, publish the draft
    with `version_publish` (what the Celery task runs) and time each step it reports."""
    from django.core import mail
    from django.db import connection, transaction

    from revisions.models import Version
    from revisions.services import version_import, version_publish

    version = Version.objects.select_related("spec").get(spec__slug="model-spec",
                                                         label=PUBLISH_FROM)  # fmt: skip
    if version.state != Version.State.PUBLISHED:
        raise SystemExit(f"{PUBLISH_FROM} is not the published version: use a fresh database")
    t0 = time.perf_counter()
    seeded = seed_open_items(version, items)
    seed_s = time.perf_counter() - t0
    data, changes = draft_source(version)
    t0 = time.perf_counter()
    draft = version_import(spec=version.spec, label=PUBLISH_LABEL, data=data).version
    import_s = time.perf_counter() - t0
    steps: list[tuple[str, float]] = []

    def progress(step: str, done: int, total: int) -> None:
        if not steps or steps[-1][0] != step:
            steps.append((step, time.perf_counter()))

    mail.outbox = []
    marks: dict[str, float] = {}
    started = time.perf_counter()
    with transaction.atomic():
        # Registered before the listeners' own hooks, so it runs first after the commit.
        transaction.on_commit(lambda: marks.setdefault("committed", time.perf_counter()))
        version_publish(version=draft, acting_user=None, progress=progress)
        marks["returned"] = time.perf_counter()
    finished = time.perf_counter()
    publish_ms = (marks["committed"] - started) * 1000
    rows: list[Row] = [
        ("publish: version_publish + commit", publish_ms, PUBLISH_TARGET_MS,
         f"{items:,} open items carried forward"),
    ]  # fmt: skip
    bounds = [("(locks, before the first report)", started), *steps]
    bounds.append(("(after the last report, to return)", marks["returned"]))
    for (name, at), (_, until) in itertools.pairwise(bounds):
        rows.append((f"  step {name}", (until - at) * 1000, None, ""))
    rows.append(("  commit", (marks["committed"] - marks["returned"]) * 1000, None, ""))
    rows.append(("  e-mails at commit (not in the target)", (finished - marks["committed"]) * 1000,
                 None, f"{len(mail.outbox)} sent in-process (eager tasks, in-memory mail)"))  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT outcome, count(*), round(avg(confidence)) FROM feedback_reanchoring "
            "WHERE version_id = %s GROUP BY outcome ORDER BY 2 DESC",
            [draft.pk],
        )
        outcomes = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM outbox_outboxmessage WHERE created_at >= now() - interval '1 hour'"
        )
        (outbox,) = cursor.fetchone()
    rows.append(("seed (not timed against a target)", seed_s * 1000, None,
                 ", ".join(f"{k} {v:,}" for k, v in seeded.items())))  # fmt: skip
    rows.append(("import of the draft (not in the target)", import_s * 1000, None,
                 "; ".join(changes)))  # fmt: skip
    for outcome, count, confidence in outcomes:
        rows.append((f"  re-anchored: {outcome}", None, None,
                     f"{count:,} items, mean confidence {confidence}"))  # fmt: skip
    rows.append(("  outbox messages written", None, None, f"{outbox:,}"))
    return rows


SECTIONS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "compare": lambda args: compare_section(args.runs),
    "publish": lambda args: publish_section(args.items),
}


def section_child(name: str, args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host name, in-memory e-mail
    rows = SECTIONS[name](args)
    print(json.dumps({"section": name, "rows": rows}))


def run_section(env: dict[str, str], name: str, args: argparse.Namespace) -> list[Row]:
    result = subprocess.run(
        [
            str(PY),
            str(Path(__file__).resolve()),
            "--section-child",
            name,
            "--runs",
            str(args.runs),
            "--items",
            str(args.items),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BenchError(f"section {name} failed:\n{result.stderr.strip()[-3000:]}")
    return [tuple(row) for row in json.loads(result.stdout.strip().splitlines()[-1])["rows"]]


def run(args: argparse.Namespace, stack: Stack) -> bool:
    database_url = os.environ.get("DATABASE_URL") or stack.start_postgres()
    env = bench_env(database_url)
    migrate_and_bootstrap(env)
    plan = list(args.only or SECTIONS)
    if "publish" in plan and "compare" in plan:
        plan.append("compare")  # again, with the published version and its items in place
    ok = True
    say(f"\n{'case':<44} {'median':>10} {'target':>10}  result  note")
    published = False
    for name in plan:
        title = {"compare": f"{args.runs} runs", "publish": f"{args.items:,} items, one run"}
        say(f"== {name}{' (after publish)' if published else ''} ({title[name]})")
        for case, ms, target, note in run_section(env, name, args):
            verdict = "" if target is None else ("PASS" if ms < target else "MISS")
            ok = ok and verdict != "MISS"
            target_text = "" if target is None else f"< {target:.0f} ms"
            measured = "" if ms is None else f"{ms:>7.1f} ms"
            say(f"{case:<44} {measured:>10} {target_text:>10}  {verdict:<6}  {note}")
        published = published or name == "publish"
    say(f"\nload average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    say(f"RESULT: {'PASS' if ok else 'MISS'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per case; the median counts")
    parser.add_argument(
        "--items", type=int, default=ITEMS_DEFAULT, help="open items the publish carries"
    )
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), help="one section")
    parser.add_argument("--section-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.section_child:
        section_child(args.section_child, args)
        return 0
    return guarded_run(run, args, Stack(), "== stopping the throwaway PostgreSQL")


if __name__ == "__main__":
    sys.exit(main())
