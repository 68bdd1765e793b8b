"""The audit ledger at a million events: verification and export speed and memory.

    .venv/bin/python bench/audit.py [--events 1000000] [--database URL]

1. a throwaway PostgreSQL (unless --database is given: its ledger is extended, never
   changed), migrations;
2. seeds `--events` ledger events with COPY: realistic shapes (feedback and version actions,
   users, anonymous and system actors, subjects, nested data, a few non-ASCII strings, 1 in 5
   internal), every hash and stored canonical text computed with the canonical encoding so the
   chain verifies (the CHECK constraint checks each row as it is copied in); then
   VACUUM ANALYZE, CHECKPOINT, sync and one read of the table, so every job starts from the
   same warm cache;
3. in a child process each (so peak memory is the job's own): `verify_audit`'s code path
   (`audit_verify`: the constraint check, then the stored canonical text streamed with COPY
   and hashed), for comparison `--recompute` (every row re-encoded from its columns) and
   `--reference` (ORM + `chain` only), a full JSON Lines export and a public CSV export
   (every byte produced and counted); each child reports events/s (or MB/s), its RSS after
   setup and its peak RSS (VmHWM from /proc);
4. prints the figures and PASS/FAIL: verify >= 200,000 events/s, and every job's peak RSS
   less than 64 MB above its RSS after setup (memory flat: holding the ledger would take
   hundreds of MB).

Exit status: 0 PASS, 1 FAIL, 2 could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
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
    manage,
    say,
)

TARGET_VERIFY_PER_S = 200_000
# Other ways to verify, shown beside the default (`verify_audit`) but not judged.
COMPARISON = {"recompute": "verify_audit --recompute", "reference": "verify_audit --reference"}
FLAT_MB = 64
BATCH = 50_000
ACTIONS = [
    ("feedback.submitted", "public"), ("feedback.triaged", "public"),
    ("feedback.endorsed", "public"), ("feedback.note_added", "internal"),
    ("feedback.assigned", "internal"), ("feedback.accepted", "public"),
    ("version.published", "public"), ("feedback.reanchored", "public"),
    ("audit.viewed", "internal"), ("feedback.declined", "public"),
]  # fmt: skip


def _event(i: int, seq: int, at: datetime) -> tuple:
    action, visibility = ACTIONS[i % len(ACTIONS)]
    if action == "audit.viewed" or i % 5 == 0:
        visibility = "internal"
    kind = ("user", "anonymous", "system")[0 if i % 7 else (1 if i % 2 else 2)]
    actor_id = str(1 + i % 50) if kind == "user" else None
    label = f"user{1 + i % 50}" if kind == "user" else kind
    number = f"MS-2025-{i % 99991:05d}"
    subjects = [{"type": "feedback.feedbackitem", "id": str(1 + i % 99991), "label": number}]
    if i % 3 == 0:
        subjects.append({"type": "revisions.version", "id": "3", "label": "model-spec 2025-09-12"})
    data = {
        "tracking_number": number,
        "from": "received",
        "to": "triaged",
        "rationale": "Répondu — voir la clause" if i % 11 == 0 else "Looks like a duplicate",
        "counts": {"endorsements": i % 17, "items": [i % 3, i % 5]},
    }
    return (seq, at, kind, label, actor_id, action, subjects, visibility, data)


def seed(events: int) -> float:
    """Append `events` events after the current head with COPY; returns the seconds taken."""
    import orjson
    from django.db import connection

    from modelspec_site.audit import chain

    t0 = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash, created_at FROM audit_event ORDER BY seq DESC LIMIT 1")
        last = cursor.fetchone()
    seq, prev, start = (last[0], last[1], last[2]) if last else (0, chain.GENESIS_HASH, None)
    start = start or datetime(2024, 1, 1, tzinfo=UTC)
    columns = ("seq, created_at, actor_kind, actor_label, actor_id, action, subjects, "
               "visibility, data, prev_hash, hash, canonical")  # fmt: skip
    done = 0
    while done < events:
        n = min(BATCH, events - done)
        lines = []
        for k in range(n):
            i = done + k
            seq += 1
            at = start + timedelta(microseconds=25_000 * (i + 1))
            _, _, kind, label, actor_id, action, subjects, visibility, data = _event(i, seq, at)
            created = chain.format_timestamp(at)
            fields = {
                "seq": seq, "created_at": created, "actor_kind": kind, "actor_label": label,
                "actor_id": actor_id, "action": action, "subjects": subjects,
                "visibility": visibility, "data": data, "prev_hash": prev,
            }  # fmt: skip
            encoded = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
            prev = hashlib.sha256(encoded).hexdigest()
            if k == 0 and done == 0:  # the seeding encoder is the reference's
                assert prev == chain.event_hash(fields)
            subjects_text = orjson.dumps(subjects).decode().replace("\\", "\\\\")
            data_text = orjson.dumps(data).decode().replace("\\", "\\\\")
            canonical_text = encoded.decode().replace("\\", "\\\\")
            lines.append(
                f"{seq}\t{created}\t{kind}\t{label}\t{actor_id or '\\N'}\t{action}\t"
                f"{subjects_text}\t{visibility}\t{data_text}\t{fields['prev_hash']}\t{prev}\t"
                f"{canonical_text}\n"
            )
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY audit_event ({columns}) FROM STDIN") as copy,
        ):
            copy.write("".join(lines))
        done += n
        if done % 200_000 == 0 or done == events:
            say(f"   {done:,} events")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_event")
    return time.monotonic() - t0


def settle() -> None:
    """Let the seeding's writes finish and warm the cache, so that every job reads the same
    memory-resident table rather than competing with write-back (a first read right after
    seeding measured the disk: 41 s instead of 4 for the same verification)."""
    from django.db import DatabaseError, connection

    with connection.cursor() as cursor:
        # Not allowed to every role: the sync and the read still help.
        with contextlib.suppress(DatabaseError):
            cursor.execute("CHECKPOINT")
        os.sync()
        cursor.execute("SELECT sum(length(canonical) + length(data::text)) FROM audit_event")


# --- children: one job each, measured from inside -------------------------------------------


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(job: str) -> None:
    import django

    django.setup()
    from django.db import connection

    from modelspec_site.audit import exports
    from modelspec_site.audit.verify import audit_verify

    connection.ensure_connection()
    base = _rss_kb("VmRSS")
    t0 = time.perf_counter()
    out: dict = {"job": job}
    if job in ("verify", "recompute", "reference"):
        result = audit_verify(recompute=job == "recompute", reference=job == "reference")
        out.update(ok=result.ok, events=result.count, reason=result.reason)
    else:
        fmt, public = ("jsonl", False) if job == "export-full-jsonl" else ("csv", True)
        size = lines = 0
        for chunk in exports.export_stream(fmt, public=public):
            size += len(chunk)
            lines += chunk.count(b"\n")
        out.update(ok=True, bytes=size, events=lines - (1 if fmt == "csv" else 0))
    out.update(seconds=time.perf_counter() - t0, base_kb=base, peak_kb=_rss_kb("VmHWM"))
    print(json.dumps(out), flush=True)


def run_child(env: dict[str, str], job: str) -> dict:
    result = subprocess.run(
        [str(PY), __file__, "--child", job], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BenchError(f"{job} failed:\n{result.stderr.strip()[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace, stack: Stack) -> bool:
    database_url = args.database or stack.start_postgres()
    env = bench_env(database_url)
    say("== migrations")
    manage(env, "migrate", "--noinput", "-v", "0")
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    say(f"== seeding {args.events:,} ledger events (COPY, hashes precomputed)")
    seconds = seed(args.events)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('audit_event')) "
                       "FROM audit_event")  # fmt: skip
        total, size = cursor.fetchone()
    connection.close()
    say(f"   {total:,} events in the ledger ({size}), seeded in {seconds:.1f} s")
    say("== checkpoint, sync and one read of the table (warm cache for every job)")
    settle()

    rows = []
    ok = True
    for job in ("verify", "recompute", "reference", "export-full-jsonl", "export-public-csv"):
        say(f"== {job}")
        r = run_child(env, job)
        rate = r["events"] / r["seconds"] if r["seconds"] else 0
        growth_mb = (r["peak_kb"] - r["base_kb"]) / 1024
        flat = growth_mb < FLAT_MB
        verdict = []
        if not r["ok"] or r["events"] != total:
            verdict.append(f"FAIL ({r['events']:,} of {total:,} events; {r.get('reason', '')})")
        if job == "verify" and rate < TARGET_VERIFY_PER_S:
            verdict.append(f"FAIL (< {TARGET_VERIFY_PER_S:,}/s)")
        if not flat:
            verdict.append(f"FAIL (memory grew {growth_mb:.0f} MB)")
        if job not in COMPARISON:
            ok &= not verdict
        mb_s = f"{r['bytes'] / r['seconds'] / 1e6:.0f} MB/s" if "bytes" in r else ""
        rows.append((job, r["events"], r["seconds"], rate, mb_s, r["base_kb"], r["peak_kb"],
                     growth_mb, " ".join(verdict) or "PASS"))  # fmt: skip
    say("")
    header = (f"{'job':<20} {'events':>10} {'s':>7} {'events/s':>10} {'output':>9} "
              f"{'RSS MB':>7} {'peak MB':>8} {'growth':>7}  verdict")  # fmt: skip
    say(header)
    say("-" * len(header))
    for job, events, secs, rate, mb_s, base, peak, growth, verdict in rows:
        if job in COMPARISON:
            verdict = f"({COMPARISON[job]}, for comparison)"
        say(f"{job:<20} {events:>10,} {secs:>7.2f} {rate:>10,.0f} {mb_s:>9} {base / 1024:>7.0f} "
            f"{peak / 1024:>8.0f} {growth:>6.1f}M  {verdict}")  # fmt: skip
    say(f"targets: verify >= {TARGET_VERIFY_PER_S:,} events/s; every job's peak RSS < "
        f"{FLAT_MB} MB above its RSS after setup. Load average {os.getloadavg()[0]:.2f}.")  # fmt: skip
    say(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events (1,000,000)")
    parser.add_argument("--database", help="use this database (its ledger is extended)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    return guarded_run(run, args, Stack(), "== stopping the throwaway PostgreSQL")


if __name__ == "__main__":
    sys.exit(main())
