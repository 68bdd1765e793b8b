"""The revisions benchmark: comparing the two largest bundled versions, cold and cached.

Targets (issue 5): compare < 300 ms cold and < 20 ms cached. Each section runs in a child
process with the bench settings and database (Django test client, in-process: what is measured
is the request through the site's middleware, the view, the queries and the comparison itself,
without a network in between) and prints one JSON line; this script prints a table and exits
0 when every target is met, 1 when one is missed, 2 when the run could not happen.

    make bench-revisions                   # or: .venv/bin/python bench/revisions.py
    .venv/bin/python bench/revisions.py --runs 15 --only compare

Sections are listed in SECTIONS; another one (the publish benchmark) is added the same way: a
function run in the child that returns rows of (case, measured ms, target ms or None, note)."""

from __future__ import annotations

import argparse
import json
import os
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


SECTIONS: dict[str, Callable[[int], list[Row]]] = {
    "compare": compare_section,
}


def section_child(name: str, runs: int) -> None:
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host name, in-memory e-mail
    rows = SECTIONS[name](runs)
    print(json.dumps({"section": name, "rows": rows}))


def run_section(env: dict[str, str], name: str, runs: int) -> list[Row]:
    result = subprocess.run(
        [str(PY), str(Path(__file__).resolve()), "--section-child", name, "--runs", str(runs)],
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
    ok = True
    say(f"\n{'case':<44} {'median':>10} {'target':>10}  result  note")
    for name in args.only or list(SECTIONS):
        say(f"== {name} ({args.runs} runs)")
        for case, ms, target, note in run_section(env, name, args.runs):
            verdict = "" if target is None else ("PASS" if ms < target else "MISS")
            ok = ok and verdict != "MISS"
            target_text = "" if target is None else f"< {target:.0f} ms"
            say(f"{case:<44} {ms:>7.1f} ms {target_text:>10}  {verdict:<6}  {note}")
    say(f"\nRESULT: {'PASS' if ok else 'MISS'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per case; the median counts")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), help="one section")
    parser.add_argument("--section-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.section_child:
        section_child(args.section_child, args.runs)
        return 0
    return guarded_run(run, args, Stack(), "== stopping the throwaway PostgreSQL")


if __name__ == "__main__":
    sys.exit(main())
