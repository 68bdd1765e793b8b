"""Reader speed: the full Model Spec page against a trivial view, in one run, on this machine.

    .venv/bin/python bench/reader.py [--duration 10] [--rounds 3] [--identity]

What it does (see bench/README.md):

1. a throwaway PostgreSQL (unless DATABASE_URL is set), migrations, `manage.py bootstrap`;
2. gunicorn with 2 sync workers on loopback, settings `bench.settings_bench` (DEBUG off, the
   site's middleware and caches, plus `/bench/trivial/`);
3. checks and warms every URL on both workers, then measures them with wrk, interleaved
   (trivial, reader, home, trivial, reader, home, ...) so drift hits all alike;
4. counts SQL queries per reader page, in-process, for a one-clause version and for the largest
   bundled version, with the rendered-page cache cold and warm;
5. prints a table and PASS/FAIL: each full-spec page >= 0.5 x the trivial view's requests/s, and
   the same query count for the small and the large version.

Exit status: 0 on PASS, 1 on FAIL, 2 when the benchmark could not run. Everything it started
(gunicorn, PostgreSQL, temporary files) is stopped and removed on every exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import gzip
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
SETTINGS = "bench.settings_bench"

LARGEST_LABEL = "2025-09-12"
TRIVIAL = "/bench/trivial/"
READER = f"/specs/model-spec/versions/{LARGEST_LABEL}/"
HOME = "/"
TARGET_RATIO = 0.5
# Present only when the reader returned the whole version (77 clauses, 173 examples).
FULL_PAGE_MARKERS = ('id="follow_all_applicable_instructions"', "</html>")
LARGEST_EXAMPLES = 173

SMALL_SPEC = b"# Only {#only}\n\nOne short clause.\n"


class BenchError(Exception):
    """The benchmark could not run (as opposed to: it ran and missed the target)."""


class Terminated(BaseException):
    """SIGTERM, handled like Ctrl-C so that cleanup runs."""


def say(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lib_sh(script: str) -> None:
    """Run shell helpers from scripts/lib.sh (they run PostgreSQL as `postgres` when we are
    root). In a session of its own, so a Ctrl-C in the terminal does not reach the server:
    we stop it ourselves, in order."""
    result = subprocess.run(
        ["bash", "-c", f"source scripts/lib.sh; {script}"],
        cwd=ROOT,
        start_new_session=True,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BenchError(f"`{script}` failed ({result.returncode}): {result.stderr.strip()}")


# --- what is started, and how it is stopped ---------------------------------------------------


class Stack:
    """Everything the run starts; `close()` stops it in reverse order and never raises."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="modelspec-bench."))
        self.workdir.chmod(0o755)  # the postgres user must reach its data directory
        self.pg_dir: Path | None = None
        self.gunicorn: subprocess.Popen | None = None

    def start_postgres(self) -> str:
        port = free_port()
        self.pg_dir = self.workdir / "pg"
        say(f"== throwaway PostgreSQL in {self.pg_dir} on port {port}")
        lib_sh(f"pg_start {self.pg_dir} {port} throwaway")
        lib_sh(f"pg_ensure_db {port} modelspec modelspec")
        return f"postgres://modelspec@127.0.0.1:{port}/modelspec"

    def start_gunicorn(self, env: dict[str, str], port: int, workers: int) -> None:
        log = (self.workdir / "gunicorn.log").open("w")
        self.gunicorn = subprocess.Popen(
            [
                str(GUNICORN),
                "modelspec_site.wsgi",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{port}",
                "--chdir",
                str(ROOT),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, never by Ctrl-C
        )
        log.close()

    def gunicorn_log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "gunicorn.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop_gunicorn(self) -> None:
        proc, self.gunicorn = self.gunicorn, None
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the arbiter stops its workers, then exits
            try:
                proc.wait(timeout=15)
                return
            except subprocess.TimeoutExpired:
                pass
        # The arbiter hangs or died early: whatever is left of its process group goes.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)

    def close(self) -> None:
        for step in (self.stop_gunicorn, self._stop_postgres, self._remove_workdir):
            try:
                step()
            except Exception as exc:  # keep going: the rest must be stopped too
                say(f"cleanup: {step.__name__}: {exc}")

    def _stop_postgres(self) -> None:
        if self.pg_dir is not None:
            lib_sh(f"pg_stop {self.pg_dir}")
            self.pg_dir = None

    def _remove_workdir(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


# --- HTTP checks and warm-up --------------------------------------------------------------------


# Request headers sent by the checks, the warm-up and wrk alike (see --identity).
REQUEST_HEADERS: dict[str, str] = {}


def http_get(base: str, path: str, timeout: float = 30) -> tuple[int, bytes, Message]:
    """Status, body as sent on the wire, and headers (X-Bench-Worker names the worker)."""
    request = urllib.request.Request(base + path, headers=REQUEST_HEADERS)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - same
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def wait_until_serving(stack: Stack, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.gunicorn is not None and stack.gunicorn.poll() is not None:
            raise BenchError(f"gunicorn exited early:\n{stack.gunicorn_log_tail()}")
        try:
            status, _, _ = http_get(base, TRIVIAL, timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(
        f"gunicorn did not answer within {timeout:.0f} s:\n{stack.gunicorn_log_tail()}"
    )


def check_page(base: str, path: str, *, full_spec: bool) -> tuple[int, int]:
    """Checks the page; returns its size on the wire and its size decoded."""
    status, wire, headers = http_get(base, path)
    if status != 200:
        raise BenchError(f"GET {path} returned {status}, not 200")
    body = gzip.decompress(wire) if headers.get("Content-Encoding") == "gzip" else wire
    if full_spec:
        html = body.decode()
        missing = [m for m in FULL_PAGE_MARKERS if m not in html]
        if missing:
            raise BenchError(f"GET {path} is not the full spec page: missing {missing}")
        if LARGEST_LABEL not in html:
            raise BenchError(f"GET {path} does not show version {LARGEST_LABEL}")
        examples = html.count('<figure class="example"')
        if examples != LARGEST_EXAMPLES:
            raise BenchError(f"GET {path} shows {examples} examples, not {LARGEST_EXAMPLES}")
    return len(wire), len(body)


def warm(base: str, path: str, workers: int, *, per_worker: int = 3, timeout: float = 180) -> None:
    """Concurrent requests until every worker has answered this page several times: a worker
    has then booted (without .pyc files that takes seconds), imported the URLconf and drawn the
    page into its own cache. Plain sequential requests may all land on the same worker."""
    seen: collections.Counter[str] = collections.Counter()
    deadline = time.monotonic() + timeout
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        while len(seen) < workers or min(seen.values()) < per_worker:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"warm-up of {path}: after {timeout:.0f} s only these workers answered "
                    f"(pid: responses): {dict(seen)}; expected {workers}"
                )
            for status, _, headers in pool.map(lambda _: http_get(base, path), range(16)):
                if status != 200:
                    raise BenchError(f"warm-up of {path}: a response was {status}, not 200")
                seen[headers.get("X-Bench-Worker", "?")] += 1


# --- wrk ----------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    path: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def parse_wrk(path: str, output: str) -> WrkResult:
    def find(pattern: str) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise BenchError(f"cannot find {pattern!r} in wrk output:\n{output}")
        return match.group(1)

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        path=path,
        requests_per_s=float(find(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_latency_ms(find(r"^\s+50%\s+(\S+)")),
        p99_ms=_latency_ms(find(r"^\s+99%\s+(\S+)")),
        requests=int(find(r"^\s+(\d+) requests in")),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        # Read errors are how wrk counts the sync workers' "Connection: close"; not a failure.
        socket_errors=sum(int(errors.group(i)) for i in (1, 3, 4)) if errors else 0,
    )


def run_wrk(base: str, path: str, *, duration: int, threads: int, connections: int) -> WrkResult:
    result = subprocess.run(
        [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={duration}s",
            "--timeout=10s",
            "--latency",
            *(f"--header={name}: {value}" for name, value in REQUEST_HEADERS.items()),
            base + path,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"wrk failed on {path}: {result.stderr.strip() or result.stdout}")
    return parse_wrk(path, result.stdout)


# --- queries per page, in-process ---------------------------------------------------------------


def count_queries_child() -> None:
    """Run in a child process with the bench environment: import a one-clause version inside a
    transaction that is rolled back, and count the queries of the reader page for it and for the
    largest bundled version, with the rendered-page cache cold and then warm. Prints JSON."""
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from revisions.services import spec_ensure, version_import
    from revisions.views import reader_cache_clear

    setup_test_environment()  # the test client's host name, in-memory e-mail
    client = Client()

    sql: list[str] = []

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} returned {response.status_code}")
        sql[:] = [q["sql"] for q in ctx.captured_queries]
        return len(ctx.captured_queries)

    class Rollback(Exception):
        pass

    counts: dict[str, int] = {}
    try:
        with transaction.atomic():
            spec = spec_ensure(slug="bench-small-spec", title="Bench: one clause")
            version_import(spec=spec, label="v1", data=SMALL_SPEC, publish=True)
            small = "/specs/bench-small-spec/versions/v1/"
            reader_cache_clear()
            counts["small_cold"] = queries(small)
            counts["small_warm"] = queries(small)
            counts["large_cold"] = queries(READER)
            counts["large_warm"] = queries(READER)
            large_warm_sql = list(sql)
            counts["home_warm"] = queries(HOME)
            raise Rollback
    except Rollback:
        pass
    print(json.dumps({"counts": counts, "large_warm_sql": large_warm_sql}))


def count_queries(env: dict[str, str]) -> dict:
    result = subprocess.run(
        [str(PY), str(Path(__file__).resolve()), "--count-queries-child"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BenchError(f"query count failed:\n{result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the run ------------------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [str(PY), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{result.stderr.strip()}")


def bench_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    # Self-contained: no broker or shared cache from the caller's shell.
    for name in ("CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE=SETTINGS,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECRET_KEY=secrets.token_urlsafe(60),
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def summarise(results: list[WrkResult], path: str) -> dict[str, float]:
    """Over the rounds: mean req/s, median p50, worst p99, and the median of the per-round
    ratios to the trivial view (each against the trivial run of the same round, which cancels
    most of the drift of a shared machine)."""
    runs = [r for r in results if r.path == path]
    trivial = [r for r in results if r.path == TRIVIAL]
    return {
        "rps": statistics.mean(r.requests_per_s for r in runs),
        "p50": statistics.median(r.p50_ms for r in runs),
        "p99": max(r.p99_ms for r in runs),
        "ratio": statistics.median(
            r.requests_per_s / t.requests_per_s for r, t in zip(runs, trivial, strict=True)
        ),
    }


def run(args: argparse.Namespace, stack: Stack) -> bool:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed: run `apt-get install wrk` and try again")
    if not GUNICORN.exists():
        raise BenchError(f"{GUNICORN} is missing: run `make venv`")

    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        say("== using DATABASE_URL from the environment")
    else:
        database_url = stack.start_postgres()
    env = bench_env(database_url)

    migrate_and_bootstrap(env)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    say(f"== gunicorn, {args.workers} sync workers, on {base} (settings {SETTINGS})")
    stack.start_gunicorn(env, port, args.workers)
    wait_until_serving(stack, base)

    pages = [(TRIVIAL, "trivial"), (READER, "reader"), (HOME, "home")]
    say("== checking and warming every page on every worker")
    sizes = {}
    for path, _ in pages:
        sizes[path] = check_page(base, path, full_spec=path != TRIVIAL)
        warm(base, path, args.workers)
    for path, _ in pages:  # and a short wrk pass per page, to settle before measuring
        run_wrk(base, path, duration=2, threads=args.threads, connections=args.connections)

    say(
        f"== wrk: {args.rounds} rounds x {len(pages)} pages, {args.duration} s each, "
        f"{args.threads} threads, {args.connections} connections, interleaved"
    )
    results: list[WrkResult] = []
    for round_number in range(1, args.rounds + 1):
        trivial_rps = 0.0
        for path, _ in pages:
            result = run_wrk(
                base,
                path,
                duration=args.duration,
                threads=args.threads,
                connections=args.connections,
            )
            results.append(result)
            if path == TRIVIAL:
                trivial_rps = result.requests_per_s
            say(
                f"   round {round_number}  {path:<40} {result.requests_per_s:8.1f} req/s  "
                f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                f"ratio {result.requests_per_s / trivial_rps:4.2f}"
                + (f"  NON-2XX {result.non_2xx}" if result.non_2xx else "")
            )
    stack.stop_gunicorn()

    # --- report ---
    ok = True
    say("")
    header = (
        f"{'page':<8} {'URL':<40} {'bytes':>8} {'wire':>8} {'req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'ratio':>6}  target"
    )
    say(header)
    say("-" * len(header))
    for path, name in pages:
        s = summarise(results, path)
        ratio = s["ratio"]
        if path == TRIVIAL:
            verdict = ""
        else:
            passed = ratio >= TARGET_RATIO
            ok &= passed
            verdict = f">= {TARGET_RATIO:.2f} {'PASS' if passed else 'FAIL'}"
        say(
            f"{name:<8} {path:<40} {sizes[path][1]:>8} {sizes[path][0]:>8} {s['rps']:>8.1f} "
            f"{s['p50']:>7.2f} {s['p99']:>7.2f} {ratio:>6.2f}  {verdict}"
        )
    say(
        f"req/s: mean of {args.rounds} rounds; p50: median of rounds; p99: worst round; "
        "ratio: median over rounds of req/s against the trivial view of the same round; "
        "bytes: the page; wire: as sent" + (" (client accepts gzip)" if REQUEST_HEADERS else "")
    )
    failures = [r for r in results if r.non_2xx or r.socket_errors]
    for r in failures:
        say(f"FAIL: {r.path}: {r.non_2xx} non-2xx responses, {r.socket_errors} socket errors")
    ok &= not failures

    say("")
    say("== SQL queries per request, reader page (in-process, Django test client, same database)")
    measured = count_queries(env)
    counts = measured["counts"]
    say(
        f"  one-clause version:     {counts['small_cold']} (cache cold), "
        f"{counts['small_warm']} (cache warm)"
    )
    say(
        f"  {LARGEST_LABEL} (77 clauses): {counts['large_cold']} (cache cold), "
        f"{counts['large_warm']} (cache warm); home page {counts['home_warm']} (cache warm)"
    )
    same = (
        counts["small_cold"] == counts["large_cold"]
        and counts["small_warm"] == counts["large_warm"]
    )
    ok &= same
    say(f"  same count for small and large: {'PASS' if same else 'FAIL'}")
    say(f"  the {counts['large_warm']} queries of a warm {READER}:")
    for statement in measured["large_warm_sql"]:
        say(f"    {statement[:150]}{' ...' if len(statement) > 150 else ''}")
    say("")
    say(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return ok


def migrate_and_bootstrap(env: dict[str, str]) -> None:
    """`manage.py migrate` and `bootstrap` (the bundled spec versions), timed."""
    say("== migrations and bundled spec versions (manage.py migrate, bootstrap)")
    t0 = time.monotonic()
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "bootstrap")
    say(f"   done in {time.monotonic() - t0:.1f} s")


def add_wrk_arguments(parser: argparse.ArgumentParser) -> None:
    """The load options every wrk benchmark takes."""
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (%(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_wrk_arguments(parser)
    parser.add_argument(
        "--identity",
        action="store_true",
        help="send no Accept-Encoding (default: 'Accept-Encoding: gzip', as every browser does)",
    )
    parser.add_argument("--count-queries-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.count_queries_child:
        count_queries_child()
        return 0

    if not args.identity:
        REQUEST_HEADERS["Accept-Encoding"] = "gzip"
    return guarded_run(run, args, Stack(), "== stopping gunicorn and the throwaway PostgreSQL")


def guarded_run(run, args, stack, closing: str) -> int:
    """Run a benchmark: exit 0 when it passes, 1 when it misses, 2 when it could not run,
    130 when interrupted (Ctrl-C or SIGTERM); `stack` is closed on every way out."""

    def on_term(signum, frame):
        raise Terminated

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C must stop the run even if this process was started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return 0 if run(args, stack) else 1
    except BenchError as exc:
        say(f"ERROR: {exc}")
        return 2
    except (KeyboardInterrupt, Terminated):
        say("\ninterrupted")
        return 130
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say(closing)
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
