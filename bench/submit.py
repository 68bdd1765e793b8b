"""Submission speed: `POST /api/v1/feedback/` against a minimal durable insert, in one run.

    .venv/bin/python bench/submit.py [--duration 10] [--rounds 5] [--profile DIR]

What it does (see bench/README.md):

1. a throwaway PostgreSQL with the server's DEFAULT durability (fsync, synchronous_commit and
   full_page_writes on: `pg_start DIR PORT` without `throwaway`), migrations,
   `manage.py bootstrap`, and a bench-only table `bench_insert`;
2. gunicorn with 2 sync workers on loopback, settings `bench.settings_bench` (DEBUG off, the
   site's middleware, write limits raised so nothing is throttled), no broker, no Redis;
3. checks every URL (a submission answers 201, its retry with the same Idempotency-Key replays
   it), warms them on both workers, then measures with wrk and a Lua script, interleaved
   (trivial, insert, submit, trivial, ...), every request with its own Idempotency-Key;
4. reconciles what wrk was told with what the database holds: every 2xx submission is one
   FeedbackItem and one `feedback.submitted` ledger event, nothing more, and the few requests
   wrk abandoned when a run ended are resolved by retrying them with their key;
5. runs `manage.py verify_audit` and prints a table and PASS/FAIL: submit >= 0.7 x the insert
   view's requests/s (per round, median), submit p99 < 100 ms, counts reconciled, no errors.

Exit status: 0 on PASS, 1 on FAIL, 2 when the benchmark could not run. Everything it started
(gunicorn, PostgreSQL, temporary files) is stopped and removed on every exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.reader import (  # noqa: E402 - needs ROOT on sys.path when run as a script
    GUNICORN,
    PY,
    SETTINGS,
    BenchError,
    Stack,
    WrkResult,
    add_wrk_arguments,
    bench_env,
    free_port,
    guarded_run,
    lib_sh,
    parse_wrk,
    say,
    wait_until_serving,
)

TRIVIAL = "/bench/trivial/"
INSERT = "/bench/insert/"
SUBMIT = "/api/v1/feedback/"
PAGES = [(TRIVIAL, "trivial", "GET"), (INSERT, "insert", "POST"), (SUBMIT, "submit", "POST")]

TARGET_RATIO = 0.7  # submit req/s against the minimal insert view of the same round
TARGET_P99_MS = 100.0

# Every POST carries this body with its own Idempotency-Key in the summary, so each row in the
# database names the request that made it. The Lua script and the retries build the same bytes.
BODY_PREFIX = (
    '{"spec":"model-spec","version":"2025-09-12",'
    '"clause":"follow_all_applicable_instructions","kind":"unclear","summary":"bench '
)
BODY_SUFFIX = '"}'
TRACKING = re.compile(r"[A-Z]{2,8}-[0-9]{4}-[0-9]{5,9}")

DURABILITY = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}

# Per request: a key from (run, thread, counter); per response: counts, and the tracking number
# of each 2xx. done() writes it all to a file that the script reads back.
WRK_LUA = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  method, nonce, label, outfile, body_prefix, body_suffix =
    args[1], args[2], args[3], args[4], args[5], args[6]
  key_prefix = nonce .. "-" .. label .. "-" .. tid .. "-"
  sent, ok, bad = 0, 0, 0
  statuses, tracking = {}, {}
end

function request()
  sent = sent + 1
  local key = key_prefix .. sent
  if method == "GET" then
    return wrk.format("GET", nil, {["Idempotency-Key"] = key}, nil)
  end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, body_prefix .. key .. body_suffix)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    local number = string.match(body, '"tracking_number"%s*:%s*"([^"]+)"')
    if number then tracking[#tracking + 1] = number end
  else
    bad = bad + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  end
end

function done(summary, latency, requests)
  -- done() runs in the main Lua state, where init() never ran: ask a thread for the path.
  local f = assert(io.open(threads[1]:get("outfile"), "w"))
  for _, thread in ipairs(threads) do
    local tid = thread:get("tid")
    f:write(string.format("thread %d %s sent %d ok %d bad %d\n", tid,
      thread:get("key_prefix"), thread:get("sent"), thread:get("ok"), thread:get("bad")))
    for status, count in pairs(thread:get("statuses")) do
      f:write(string.format("status %s %d\n", status, count))
    end
    for _, number in ipairs(thread:get("tracking")) do
      f:write("tracking ", number, "\n")
    end
  end
  f:close()
end
"""


def body_for(key: str) -> bytes:
    return (BODY_PREFIX + key + BODY_SUFFIX).encode()


# --- what is started ----------------------------------------------------------------------------


class DurableStack(Stack):
    """reader.Stack, but PostgreSQL keeps its default durability: no `throwaway` options."""

    pg_port: int = 0

    def start_postgres(self) -> str:
        port = free_port()
        self.pg_dir = self.workdir / "pg"
        say(f"== PostgreSQL with default durability in {self.pg_dir} on port {port}")
        lib_sh(f"pg_start {self.pg_dir} {port}")  # no `throwaway`: fsync and commits as shipped
        lib_sh(f"pg_ensure_db {port} modelspec modelspec")
        self.pg_port = port
        return f"postgres://modelspec@127.0.0.1:{port}/modelspec"

    def app_pids(self) -> list[int]:
        """The gunicorn arbiter and its workers."""
        if self.gunicorn is None:
            return []
        return [self.gunicorn.pid, *children(self.gunicorn.pid)]

    def postgres_pids(self) -> list[int]:
        """The postmaster and its children (backends, WAL writer, checkpointer, ...)."""
        try:
            postmaster = int((self.pg_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError, TypeError):
            return []
        return [postmaster, *children(postmaster)]


def children(pid: int) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(child) for child in out.split()]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    """User + system CPU time of each of these processes so far, in clock ticks."""
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks


def cpu_used(before: dict[int, int], after: dict[int, int]) -> float:
    """Seconds of CPU between two snapshots: processes started meanwhile count in full; one
    that exited before the second snapshot (an autovacuum worker, say) drops out."""
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy so far (all CPUs, /proc/stat), in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def psql(port: int, query: str) -> list[list[str]]:
    """Rows of `query` as the application's role, fields split on '|'."""
    result = subprocess.run(
        [
            "bash",
            "-c",
            'source scripts/lib.sh; exec "$(pg_bindir)/psql" -h 127.0.0.1 -p "$1" '
            '-U modelspec -d modelspec -v ON_ERROR_STOP=1 -qAt -F "|" -c "$2"',
            "psql",
            str(port),
            query,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"psql failed: {result.stderr.strip()}\n{query}")
    return [line.split("|") for line in result.stdout.splitlines() if line]


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PY), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


# --- HTTP ---------------------------------------------------------------------------------------


def http(
    base: str, method: str, path: str, *, key: str = "", timeout: float = 30
) -> tuple[int, bytes, Message]:
    headers = {"Idempotency-Key": key} if key else {}
    data = None
    if method == "POST":
        data = body_for(key)
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(  # noqa: S310 - loopback
        base + path, data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - same
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


@dataclass
class Ledger:
    """What the client side knows about the submissions it made outside wrk."""

    created: dict[str, str] = field(default_factory=dict)  # key -> tracking number (201)
    inserts: int = 0  # 201s from the insert view


def submit_once(base: str, key: str, ledger: Ledger) -> tuple[str, bool]:
    """POST one submission; returns (tracking number, replayed). Anything but 201 is an error."""
    status, body, headers = http(base, "POST", SUBMIT, key=key)
    if status != 201:
        raise BenchError(f"POST {SUBMIT} (key {key}) returned {status}: {body[:300]!r}")
    data = json.loads(body)
    number = data.get("tracking_number", "")
    if not TRACKING.fullmatch(number) or not data.get("follow_token"):
        raise BenchError(f"POST {SUBMIT} answered 201 without a receipt: {body[:300]!r}")
    replayed = headers.get("Idempotent-Replayed") == "true"
    if not replayed:
        ledger.created[key] = number
    return number, replayed


def check_urls(base: str, nonce: str, ledger: Ledger) -> None:
    status, body, _ = http(base, "GET", TRIVIAL)
    if status != 200:
        raise BenchError(f"GET {TRIVIAL} returned {status}")
    status, body, _ = http(base, "POST", INSERT, key=f"{nonce}-check")
    if status != 201:
        raise BenchError(f"POST {INSERT} returned {status}: {body[:300]!r}")
    ledger.inserts += 1
    key = f"{nonce}-check"
    first, replayed = submit_once(base, key, ledger)
    if replayed:
        raise BenchError(f"the first POST with key {key} was answered as a replay")
    again, replayed = submit_once(base, key, ledger)
    if not replayed or again != first:
        raise BenchError(
            f"retrying key {key} did not replay {first} (got {again}, replayed={replayed})"
        )
    say(f"   {SUBMIT} answers 201 ({first}); its retry replays it (Idempotent-Replayed: true)")


def warm(
    base: str, method: str, path: str, workers: int, nonce: str, ledger: Ledger, *, timeout=180
) -> None:
    """Concurrent requests until every worker has answered this URL several times (it has then
    imported everything the view needs; without .pyc files that takes seconds). Sequential
    requests may all land on the same worker."""
    seen: collections.Counter[str] = collections.Counter()
    deadline = time.monotonic() + timeout
    name = path.strip("/").replace("/", ".")

    def one(n: int) -> tuple[str, str, str]:
        key = f"{nonce}-warm-{name}-{n}"
        status, body, headers = http(base, method, path, key=key)
        if status not in (200, 201):
            raise BenchError(f"warm-up of {path}: a response was {status}: {body[:300]!r}")
        number = json.loads(body)["tracking_number"] if path == SUBMIT else ""
        return headers.get("X-Bench-Worker", "?"), key, number

    counter = 0
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        while len(seen) < workers or min(seen.values()) < 3:
            if time.monotonic() > deadline:
                raise BenchError(f"warm-up of {path}: only these workers answered: {dict(seen)}")
            for worker, key, number in pool.map(one, range(counter, counter + 16)):
                seen[worker] += 1
                if path == SUBMIT:
                    ledger.created[key] = number
                elif path == INSERT:
                    ledger.inserts += 1
            counter += 16


# --- wrk ----------------------------------------------------------------------------------------


@dataclass
class LuaReport:
    """What the Lua script saw in one wrk run."""

    sent: dict[str, int]  # key prefix (one per thread) -> request() calls
    ok: int
    bad: int
    statuses: collections.Counter[str]
    tracking: list[str]


@dataclass
class Run:
    path: str
    round: int
    wrk: WrkResult
    lua: LuaReport
    # Seconds of CPU during the run: app (gunicorn), pg, wrk; and "others": the share of the
    # machine's CPUs that other processes used meanwhile.
    cpu: dict[str, float]

    def cpu_ms_per_request(self, name: str) -> float:
        return 1000 * self.cpu[name] / max(self.wrk.requests, 1)


def read_lua_report(outfile: Path) -> LuaReport:
    sent: dict[str, int] = {}
    ok = bad = 0
    statuses: collections.Counter[str] = collections.Counter()
    tracking: list[str] = []
    for line in outfile.read_text().splitlines():
        parts = line.split()
        if parts[0] == "thread":
            _, _, prefix, _, n_sent, _, n_ok, _, n_bad = parts
            sent[prefix] = int(n_sent)
            ok += int(n_ok)
            bad += int(n_bad)
        elif parts[0] == "status":
            statuses[parts[1]] += int(parts[2])
        elif parts[0] == "tracking":
            tracking.append(parts[1])
    return LuaReport(sent=sent, ok=ok, bad=bad, statuses=statuses, tracking=tracking)


def run_wrk(
    base: str,
    path: str,
    method: str,
    *,
    label: str,
    nonce: str,
    workdir: Path,
    duration: int,
    threads: int,
    connections: int,
) -> tuple[WrkResult, LuaReport]:
    script = workdir / "submit.lua"
    if not script.exists():
        script.write_text(WRK_LUA)
    outfile = workdir / f"wrk-{label}.txt"
    result = subprocess.run(
        [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={duration}s",
            "--timeout=10s",
            "--latency",
            f"--script={script}",
            base + path,
            "--",
            method,
            nonce,
            label,
            str(outfile),
            BODY_PREFIX,
            BODY_SUFFIX,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not outfile.exists():
        raise BenchError(f"wrk failed on {path}: {result.stderr.strip() or result.stdout}")
    return parse_wrk(path, result.stdout), read_lua_report(outfile)


def measure(
    stack: DurableStack, base: str, path: str, method: str, *, round_number: int, **options
) -> Run:
    """One wrk run with the CPU each side used; then wait until the requests wrk abandoned at
    the stop have drained, so they do not slow the next run's first requests."""
    app, pg = cpu_ticks(stack.app_pids()), cpu_ticks(stack.postgres_pids())
    wrk, busy, started = children_cpu_seconds(), machine_busy_seconds(), time.monotonic()
    result, lua = run_wrk(base, path, method, **options)
    cpu = {
        "app": cpu_used(app, cpu_ticks(stack.app_pids())),
        "pg": cpu_used(pg, cpu_ticks(stack.postgres_pids())),
        "wrk": children_cpu_seconds() - wrk,
    }
    # Whatever else ran on the machine meanwhile (other people's tests, say), as a share of
    # all its CPUs: a run with a large share is not comparable with the others.
    elapsed = (time.monotonic() - started) * (os.cpu_count() or 1)
    cpu["others"] = max(machine_busy_seconds() - busy - sum(cpu.values()), 0.0) / elapsed
    if method == "POST":
        wait_until_idle(stack.pg_port, interval=0.25)
    return Run(path=path, round=round_number, wrk=result, lua=lua, cpu=cpu)


def profile(stack: DurableStack, base: str, outdir: Path, duration: int, wrk_options: dict) -> Run:
    """One more submit run (not in the table) with py-spy sampling every worker: one flame
    graph per worker in `outdir`. Its submissions are reconciled with the others."""
    py_spy = PY.parent / "py-spy"
    if not py_spy.exists():
        raise BenchError(f"--profile needs {py_spy}: uv pip install --python {PY} py-spy")
    outdir.mkdir(parents=True, exist_ok=True)
    workers = [pid for pid in stack.app_pids() if pid != stack.gunicorn.pid]
    say(f"== profiling workers {workers} with py-spy during one more {duration} s submit run")
    spies = [
        subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(duration),
                "--rate",
                "100",
                "--format",
                os.environ.get("BENCH_PYSPY_FORMAT", "flamegraph"),
                "--output",
                str(outdir / f"submit-{pid}.svg"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in workers
    ]
    try:
        run = measure(
            stack,
            base,
            SUBMIT,
            "POST",
            round_number=-1,
            label="profile",
            duration=duration,
            **wrk_options,
        )
    finally:
        for spy in spies:
            try:
                spy.wait(timeout=duration + 30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
    say(
        f"   {run.wrk.requests_per_s:.1f} req/s while sampled; flame graphs in {outdir} "
        "(sampling slows the workers: read the shares, not the rate)"
    )
    return run


# --- counting -----------------------------------------------------------------------------------


COUNTS_SQL = """
SELECT (SELECT count(*) FROM feedback_feedbackitem),
       (SELECT count(*) FROM audit_event WHERE action = 'feedback.submitted'),
       (SELECT count(*) FROM audit_event),
       (SELECT count(*) FROM feedback_idempotencyrecord),
       (SELECT count(*) FROM outbox_outboxmessage),
       (SELECT count(*) FROM bench_insert)
"""
COUNT_NAMES = ("items", "submitted_events", "events", "idempotency_records", "outbox", "inserts")


def db_counts(port: int) -> dict[str, int]:
    row = psql(port, COUNTS_SQL)[0]
    return dict(zip(COUNT_NAMES, map(int, row), strict=True))


def wait_until_idle(port: int, timeout: float = 30, interval: float = 1.0) -> dict[str, int]:
    """Requests that wrk abandoned when a run ended may still be finishing: wait until the
    counts stop moving."""
    deadline = time.monotonic() + timeout
    last = db_counts(port)
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = db_counts(port)
        if now == last:
            return now
        last = now
    raise BenchError("the database kept changing after the load stopped")


def wal_stats(port: int) -> dict[str, int]:
    row = psql(
        port,
        "SELECT w.wal_sync, w.wal_write, d.xact_commit FROM pg_stat_wal w, pg_stat_database d "
        "WHERE d.datname = current_database()",
    )[0]
    return {"wal_sync": int(row[0]), "wal_write": int(row[1]), "commits": int(row[2])}


def durability_check(port: int) -> dict[str, str]:
    names = ", ".join(f"'{name}'" for name in [*DURABILITY, "wal_sync_method", "wal_level"])
    rows = psql(port, f"SELECT name, setting FROM pg_settings WHERE name IN ({names})")
    settings = dict((name, value) for name, value in rows)
    weakened = {n: settings.get(n) for n, want in DURABILITY.items() if settings.get(n) != want}
    if weakened:
        raise BenchError(
            f"PostgreSQL durability is weakened: {weakened}; this run needs {DURABILITY}"
        )
    return settings


@dataclass
class Reconciliation:
    wrk_2xx: int = 0
    wrk_non_2xx: int = 0
    client_201: int = 0  # checks and warm-up POSTs (urllib), each seen by the script
    items: int = 0
    submitted_events: int = 0
    idempotency_records: int = 0
    outbox: int = 0
    cut_off: int = 0  # committed, but wrk stopped before reading the response
    replayed: int = 0  # of those, confirmed by a retry with the same key (Idempotent-Replayed)
    never_committed: int = 0  # request() was called, nothing was stored; the retry created it
    lost: list[str] = field(default_factory=list)  # 2xx without an item
    doubled: list[str] = field(default_factory=list)  # a key with two items
    bad_events: list[str] = field(default_factory=list)  # an item without exactly one event
    mismatched: list[str] = field(default_factory=list)  # a retry that did not replay as expected
    items_final: int = 0
    submitted_events_final: int = 0
    cut_off_bound: int = 0  # at most one request per connection is in flight when wrk stops

    @property
    def ok(self) -> bool:
        return (
            self.wrk_non_2xx == 0
            and self.cut_off <= self.cut_off_bound
            and not (self.lost or self.doubled or self.bad_events or self.mismatched)
            and self.items == self.submitted_events == self.idempotency_records
            and self.items == self.wrk_2xx + self.client_201 + self.cut_off
            and self.replayed == self.cut_off
            and self.items_final == self.submitted_events_final
            and self.items_final == self.items + self.never_committed
            and self.outbox == 0
        )


def reconcile(
    base: str, port: int, before: dict[str, int], runs: list[Run], ledger: Ledger, connections: int
) -> Reconciliation:
    r = Reconciliation()
    submit_runs = [run for run in runs if run.path == SUBMIT]
    r.cut_off_bound = connections * len(submit_runs)
    r.wrk_2xx = sum(run.lua.ok for run in submit_runs)
    r.wrk_non_2xx = sum(max(run.lua.bad, run.wrk.non_2xx) for run in submit_runs)
    r.client_201 = len(ledger.created)
    after = wait_until_idle(port)
    r.items = after["items"] - before["items"]
    r.submitted_events = after["submitted_events"] - before["submitted_events"]
    r.idempotency_records = after["idempotency_records"] - before["idempotency_records"]
    r.outbox = after["outbox"] - before["outbox"]

    # Every bench item names its key in its summary; every event names its item.
    key_items: dict[str, list[str]] = collections.defaultdict(list)
    item_key: dict[str, str] = {}
    for number, summary in psql(port, "SELECT tracking_number, summary FROM feedback_feedbackitem"):
        key = summary.removeprefix("bench ")
        key_items[key].append(number)
        item_key[number] = key
    events = collections.Counter(
        row[0]
        for row in psql(
            port,
            "SELECT data->>'tracking_number' FROM audit_event WHERE action = 'feedback.submitted'",
        )
    )
    r.doubled = sorted(key for key, numbers in key_items.items() if len(numbers) > 1)
    r.bad_events = sorted(
        number for number in set(item_key) | set(events) if events.get(number) != 1
    )
    answered = [number for run in submit_runs for number in run.lua.tracking]
    answered += list(ledger.created.values())
    r.lost = sorted(number for number in answered if number not in item_key)
    r.doubled += sorted(n for n, seen in collections.Counter(answered).items() if seen > 1)
    answered_keys = {item_key[number] for number in answered if number in item_key}

    # Requests wrk generated but whose 2xx it never read: abandoned when the run ended. Retry
    # each with its key, as a client would: a committed one must replay (same number, nothing
    # new); one that never reached the database is created now.
    unanswered = [
        f"{prefix}{n}"
        for run in submit_runs
        for prefix, sent in run.lua.sent.items()
        for n in range(1, sent + 1)
        if f"{prefix}{n}" not in answered_keys
    ]
    r.cut_off = sum(1 for key in unanswered if key in key_items)
    for key in unanswered:
        try:
            number, replayed = submit_once(base, key, Ledger())
        except BenchError as exc:
            r.mismatched.append(f"{key}: {exc}")
            continue
        stored = key_items.get(key)
        if stored:
            if replayed and number == stored[0]:
                r.replayed += 1
            else:
                r.mismatched.append(f"{key}: stored {stored}, retry gave {number} ({replayed=})")
        elif replayed:
            r.mismatched.append(f"{key}: nothing stored, yet the retry replayed {number}")
        else:
            r.never_committed += 1
    final = wait_until_idle(port)
    r.items_final = final["items"] - before["items"]
    r.submitted_events_final = final["submitted_events"] - before["submitted_events"]
    return r


# --- the run ------------------------------------------------------------------------------------


def summarise(runs: list[Run], path: str, baseline: str) -> dict[str, float]:
    """Over the rounds: mean req/s, median p50, worst p99, and the median of the per-round
    ratios against `baseline` (each against the baseline's run of the same round)."""
    mine = [r for r in runs if r.path == path]
    base = [r for r in runs if r.path == baseline]
    return {
        "rps": statistics.mean(r.wrk.requests_per_s for r in mine),
        "p50": statistics.median(r.wrk.p50_ms for r in mine),
        "p99": max(r.wrk.p99_ms for r in mine),
        "ratio": statistics.median(
            r.wrk.requests_per_s / b.wrk.requests_per_s for r, b in zip(mine, base, strict=True)
        ),
    }


def run(args: argparse.Namespace, stack: DurableStack) -> bool:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed: run `apt-get install wrk` and try again")
    if not GUNICORN.exists():
        raise BenchError(f"{GUNICORN} is missing: run `make venv`")
    if os.environ.get("DATABASE_URL"):
        say(
            "== DATABASE_URL is ignored: this run writes thousands of rows and needs its own server"
        )
    load = os.getloadavg()
    say(f"== load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")

    env = bench_env(stack.start_postgres())
    port = stack.pg_port
    settings = durability_check(port)
    say(
        "   "
        + ", ".join(f"{k}={settings[k]}" for k in sorted(settings))
        + f"; data directory on {stack.workdir}"
    )

    say("== migrations and bundled spec versions (manage.py migrate, bootstrap)")
    t0 = time.monotonic()
    for command in (("migrate", "--noinput", "-v", "0"), ("bootstrap",)):
        result = manage(env, *command)
        if result.returncode != 0:
            raise BenchError(f"manage.py {' '.join(command)} failed:\n{result.stderr.strip()}")
    psql(
        port,
        "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, kind text NOT NULL, "
        "key text NOT NULL, payload text NOT NULL, "
        "created_at timestamptz NOT NULL DEFAULT now())",
    )
    say(f"   done in {time.monotonic() - t0:.1f} s; table bench_insert created")

    # Statistics as of now (the manage.py sessions have exited and flushed theirs); read again
    # once gunicorn has stopped and its sessions have flushed theirs.
    wal_before = wal_stats(port)
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    say(f"== gunicorn, {args.workers} sync workers, on {base} (settings {SETTINGS})")
    stack.start_gunicorn(env, http_port, args.workers)
    wait_until_serving(stack, base)

    nonce = secrets.token_hex(4)
    ledger = Ledger()
    before = db_counts(port)
    say("== checking and warming every URL on every worker")
    check_urls(base, nonce, ledger)
    for path, _, method in PAGES:
        warm(base, method, path, args.workers, nonce, ledger)
    wrk_options = {
        "nonce": nonce,
        "workdir": stack.workdir,
        "threads": args.threads,
        "connections": args.connections,
    }
    runs: list[Run] = []
    for path, name, method in PAGES:  # a short pass per URL, to settle before measuring
        runs.append(
            measure(
                stack,
                base,
                path,
                method,
                round_number=0,
                label=f"s-{name}",
                duration=2,
                **wrk_options,
            )
        )

    say(
        f"== wrk: {args.rounds} rounds x {len(PAGES)} URLs, {args.duration} s each, "
        f"{args.threads} threads, {args.connections} connections, interleaved"
    )
    for round_number in range(1, args.rounds + 1):
        rps: dict[str, float] = {}
        for path, name, method in PAGES:
            measured_run = measure(
                stack,
                base,
                path,
                method,
                round_number=round_number,
                label=f"r{round_number}-{name}",
                duration=args.duration,
                **wrk_options,
            )
            runs.append(measured_run)
            result = measured_run.wrk
            rps[path] = result.requests_per_s
            against = f"ratio {result.requests_per_s / rps[TRIVIAL]:4.2f}" + (
                f"  /insert {result.requests_per_s / rps[INSERT]:4.2f}" if path == SUBMIT else ""
            )
            say(
                f"   round {round_number}  {path:<20} {result.requests_per_s:8.1f} req/s  "
                f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  {against}  "
                f"CPU ms/req app {measured_run.cpu_ms_per_request('app'):.2f} "
                f"pg {measured_run.cpu_ms_per_request('pg'):.2f} "
                f"wrk {measured_run.cpu_ms_per_request('wrk'):.2f}  "
                f"others {measured_run.cpu['others']:.0%}"
                + (f"  NON-2XX {result.non_2xx}" if result.non_2xx else "")
            )
    measured = [r for r in runs if r.round > 0]
    if args.profile:
        runs.append(profile(stack, base, Path(args.profile), args.duration, wrk_options))

    say("== reconciling wrk's answers with the database")
    counts = reconcile(base, port, before, runs, ledger, args.connections)
    insert_runs = [r for r in runs if r.path == INSERT]
    insert_2xx = sum(r.lua.ok for r in insert_runs)
    inserts = db_counts(port)["inserts"] - before["inserts"]
    stack.stop_gunicorn()
    time.sleep(0.5)  # the sessions' exit flushes their statistics
    wal_after = wal_stats(port)
    audit = manage(env, "verify_audit")

    # --- report ---
    ok = True
    say("")
    header = (
        f"{'view':<8} {'URL':<20} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'/trivial':>8} {'/insert':>8} {'app':>6} {'pg':>5} {'wrk':>5}  target"
    )
    say(header)
    say("-" * len(header))
    for path, name, _ in PAGES:
        s = summarise(measured, path, TRIVIAL)
        vs_insert = summarise(measured, path, INSERT)["ratio"]
        verdict = ""
        if path == SUBMIT:
            ratio_ok = vs_insert >= TARGET_RATIO
            p99_ok = s["p99"] < TARGET_P99_MS
            ok &= ratio_ok and p99_ok
            verdict = (
                f"/insert >= {TARGET_RATIO:.2f} {'PASS' if ratio_ok else 'FAIL'}, "
                f"p99 < {TARGET_P99_MS:.0f} ms {'PASS' if p99_ok else 'FAIL'}"
            )
        cpu = {
            part: statistics.median(r.cpu_ms_per_request(part) for r in measured if r.path == path)
            for part in ("app", "pg", "wrk")
        }
        say(
            f"{name:<8} {path:<20} {s['rps']:>8.1f} {s['p50']:>7.2f} {s['p99']:>7.2f} "
            f"{s['ratio']:>8.2f} {vs_insert:>8.2f} {cpu['app']:>6.2f} {cpu['pg']:>5.2f} "
            f"{cpu['wrk']:>5.2f}  {verdict}"
        )
    say(
        f"req/s: mean of {args.rounds} rounds; p50: median of rounds; p99: worst round; "
        "ratios: median over rounds of req/s against the trivial (insert) view of the same "
        "round; app, pg, wrk: CPU ms per request (median of rounds) in gunicorn, PostgreSQL "
        "and wrk"
    )
    say(
        "other processes on the machine used at most "
        f"{max(r.cpu['others'] for r in measured):.0%} of its CPUs during a measured run"
    )
    socket_failures = [r for r in runs if r.wrk.socket_errors or r.wrk.non_2xx or r.lua.bad]
    for r in socket_failures:
        say(
            f"FAIL: {r.path} (round {r.round}): {r.wrk.non_2xx} non-2xx "
            f"{dict(r.lua.statuses)}, {r.wrk.socket_errors} socket errors"
        )
    ok &= not socket_failures

    wal_syncs = wal_after["wal_sync"] - wal_before["wal_sync"]
    commits = wal_after["commits"] - wal_before["commits"]
    say(
        f"durability: {', '.join(f'{k}={settings[k]}' for k in DURABILITY)}; "
        f"while gunicorn ran: {commits} commits (read-only ones included), "
        f"{wal_syncs} WAL flushes to disk (fdatasync)"
    )

    c = counts
    say("")
    say(
        f"== count check (submit: {len([r for r in runs if r.path == SUBMIT])} wrk runs, "
        f"settle pass included, plus {c.client_201} check and warm-up POSTs)"
    )
    say(f"  2xx reported by wrk (Lua response()):           {c.wrk_2xx}")
    say(f"  non-2xx reported by wrk:                        {c.wrk_non_2xx}")
    say(f"  201 to the script's own POSTs:                  {c.client_201}")
    say(f"  committed, response abandoned by wrk at a stop: {c.cut_off}")
    say(f"  = acknowledged submissions:                     {c.wrk_2xx + c.client_201 + c.cut_off}")
    say(f"  new FeedbackItem rows:                          {c.items}")
    say(f"  new feedback.submitted ledger events:           {c.submitted_events}")
    say(f"  new idempotency records:                        {c.idempotency_records}")
    say(f"  new outbox rows (no e-mail given: expect 0):    {c.outbox}")
    say(
        f"  retries of the {c.cut_off} abandoned: {c.replayed} replayed with the stored number; "
        f"{c.never_committed} requests generated but never stored, created by their retry"
    )
    say(f"  after the retries: {c.items_final} items, {c.submitted_events_final} events")
    say(
        f"  lost: {len(c.lost)}  doubled: {len(c.doubled)}  item/event mismatches: "
        f"{len(c.bad_events)}  retry mismatches: {len(c.mismatched)}"
    )
    for label, values in (
        ("lost", c.lost),
        ("doubled", c.doubled),
        ("events", c.bad_events),
        ("retry", c.mismatched),
    ):
        for value in values[:5]:
            say(f"    {label}: {value}")
    say(f"  count check: {'PASS' if c.ok else 'FAIL'}")
    ok &= c.ok
    say(
        f"  (insert view, for comparison: {insert_2xx} 2xx from wrk + {ledger.inserts} from the "
        f"script; {inserts} rows = {inserts // 3} transactions, "
        f"{inserts // 3 - insert_2xx - ledger.inserts} of them abandoned by wrk at a stop)"
    )
    audit_ok = audit.returncode == 0
    say(f"  manage.py verify_audit: {(audit.stdout or audit.stderr).strip()}")
    ok &= audit_ok
    load = os.getloadavg()
    say(f"  load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    say("")
    say(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_wrk_arguments(parser)
    # Five rounds, not three: on this shared 2-CPU machine one disturbed 10 s run moves a
    # round's ratio by 0.1 either way, and the median of five is steadier than that of three.
    parser.set_defaults(rounds=5)
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="after the rounds, one more submit run sampled by py-spy; flame graphs go to DIR",
    )
    args = parser.parse_args()

    return guarded_run(
        run,
        args,
        DurableStack(),
        "== stopping gunicorn and PostgreSQL, removing the temporary directory",
    )


if __name__ == "__main__":
    sys.exit(main())
