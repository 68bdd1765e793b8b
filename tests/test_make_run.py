"""`make run`'s script on this machine, as a user would start it: a project-managed PostgreSQL,
Redis and a worker, the bundled versions loaded, the site served; a second start loads
nothing twice; stopping it leaves nothing running."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(var: Path, ports: dict[str, int]) -> subprocess.Popen:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {
        "MODELSPEC_VAR": str(var),
        "MODELSPEC_PORT": str(ports["web"]),
        "MODELSPEC_PG_PORT": str(ports["pg"]),
        "MODELSPEC_REDIS_PORT": str(ports["redis"]),
    }
    return subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "run.sh")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 120) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"run.sh exited early:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                return response.read()
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return out


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_run_serves_the_bundled_versions_and_restarts_quickly():
    # Not pytest's tmp_path: as root, PostgreSQL runs as `postgres`, which must reach the folder.
    work = Path(tempfile.mkdtemp(prefix="modelspec-run-", dir="/tmp"))
    work.chmod(0o755)
    try:
        check_run(work / "var")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_run(var: Path) -> None:
    ports = {"web": free_port(), "pg": free_port(), "redis": free_port()}
    base = f"http://127.0.0.1:{ports['web']}"

    first = start(var, ports)
    try:
        health = wait_for(f"{base}/healthz", first)
        assert b'"database": "ok"' in health and b'"broker": "ok"' in health
        home = wait_for(f"{base}/", first).decode()
        assert "2025-09-12" in home and 'id="follow_all_applicable_instructions"' in home
        for label in ("2025-02-12", "2025-04-11"):
            page = wait_for(f"{base}/specs/model-spec/versions/{label}/", first).decode()
            assert 'id="follow_all_applicable_instructions"' in page
    finally:
        out = stop(first)
    assert "model-spec 2025-09-12: loaded" in out
    assert "username: admin" in out

    second = start(var, ports)
    began = time.monotonic()
    try:
        wait_for(f"{base}/healthz", second)
        restart_seconds = time.monotonic() - began
    finally:
        out = stop(second)
    assert "model-spec 2025-09-12: already loaded (published)" in out
    assert " loaded (" not in out.replace("already loaded (", "")
    assert restart_seconds < 60

    # Nothing it started is left running.
    assert not (var / "postgres" / "postmaster.pid").exists()
    assert not (var / "redis" / "redis.pid").exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", ports["web"]), timeout=1)
