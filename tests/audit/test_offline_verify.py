"""The offline verifier: an export checked against a checkpoint with nothing but the export,
the checkpoint and one standalone file (`scripts/verify_ledger_export.py`, which is
`modelspec_site/audit/chain.py` itself), run from a copy outside the repository, with
Python 3.10 and the standard library only. `verify_audit --export` runs the same code."""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import transaction

from modelspec_site.audit import chain, checkpoints
from modelspec_site.audit.services import audit_record

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "verify_ledger_export.py"
# The oldest interpreter the script supports when this machine has it (pyenv's 3.10), else the
# system's own Python: either way run with -I -S, so nothing but the standard library is there.
PY310 = next(
    (
        Path(p)
        for p in ("/root/.pyenv/versions/3.10.13/bin/python", "/usr/bin/python3")
        if Path(p).exists()
    ),
    Path("/usr/bin/python3"),
)
VENV_PY = ROOT / ".venv" / "bin" / "python"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]


@pytest.fixture
def signing(settings):
    key = Ed25519PrivateKey.generate()
    settings.AUDIT_CHECKPOINT_SIGNING_KEY = base64.b64encode(key.private_bytes_raw()).decode()
    yield key
    checkpoints._signing_key.cache_clear()


@pytest.fixture
def ledger(user):
    with transaction.atomic():
        for i in range(1, 31):
            audit_record(
                actor=user if i % 3 else None,
                action="test.recorded",
                subjects=[{"type": "feedback.item", "id": str(i), "label": f"MS-{i} «ü»"}],
                data={"i": i, "text": f'line\n{i}, "quoted" 1.5 ✓', "nested": {"z": [1, {}]}},
                visibility="internal" if i % 4 == 0 else "public",
            )


def _download(client, url: str, path: Path) -> Path:
    response = client.get(url)
    assert response.status_code == 200
    path.write_bytes(b"".join(response.streaming_content))
    return path


@pytest.fixture
def outside(tmp_path) -> Path:
    """A directory outside the repository holding a plain copy of the script (not a link)."""
    where = tmp_path / "third-party"
    where.mkdir()
    shutil.copyfile(SCRIPT, where / "verify_ledger_export.py")
    assert not (where / "verify_ledger_export.py").is_symlink()
    return where


def _run(python: Path, where: Path, *args: str) -> subprocess.CompletedProcess:
    # -I: isolated (no PYTHONPATH, no user site, not the current directory's modules); -S: no
    # site-packages at all, so only the standard library is there.
    flags = ["-I", "-S"] if python == PY310 else ["-I"]
    return subprocess.run(
        [str(python), *flags, "verify_ledger_export.py", *args],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_the_script_is_the_reference_module_not_a_copy():
    assert SCRIPT.resolve() == Path(chain.__file__).resolve()


def test_the_site_serves_the_same_verifier(client):
    response = client.get("/audit/verify_ledger_export.py")
    assert response.status_code == 200
    assert response.content == SCRIPT.read_bytes()


@pytest.mark.parametrize("url", ["/audit/export/public.jsonl", "/audit/export/public.csv"])
def test_a_public_export_verifies_outside_the_repository_with_python_310(
    ledger, client, outside, url
):
    export = _download(client, url, outside / Path(url).name)
    head = chain.GENESIS_HASH
    from modelspec_site.audit.models import Event

    last = Event.objects.order_by("-seq").first()
    head = last.hash
    done = _run(PY310, outside, export.name, "--checkpoint", head, "--count", str(last.seq))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"OK: {last.seq} events, head {head}")
    # An older checkpoint (event 10) also holds: history only grew since.
    tenth = Event.objects.get(seq=10).hash
    done = _run(PY310, outside, export.name, "--checkpoint", tenth, "--count", "10")
    assert done.returncode == 0, done.stderr


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_tampered_exports_fail_naming_the_first_bad_event(ledger, staff_client, outside):
    auditor = staff_client("auditor", username="auditor1")
    from modelspec_site.audit.models import Event

    count = Event.objects.count()  # the export itself records one more event
    good = _download(auditor, "/staff/audit/export.jsonl", outside / "full.jsonl")
    lines = _lines(good)
    head = json.loads(lines[-1])["hash"]
    assert len(lines) == count + 1
    assert _run(PY310, outside, "full.jsonl", "--checkpoint", head, "--full").returncode == 0

    changed = json.loads(lines[6])
    changed["data"]["i"] = 999  # seq 7
    (outside / "edited.jsonl").write_text(
        "".join([*lines[:6], json.dumps(changed) + "\n", *lines[7:]])
    )
    done = _run(PY310, outside, "edited.jsonl", "--checkpoint", head)
    assert done.returncode == 1
    assert "FAILED at seq 7: hash does not match" in done.stderr

    (outside / "dropped.jsonl").write_text("".join(lines[:11] + lines[12:]))  # seq 12 gone
    done = _run(PY310, outside, "dropped.jsonl", "--checkpoint", head)
    assert done.returncode == 1
    assert "FAILED at seq 12: expected seq 12, found 13" in done.stderr

    (outside / "short.jsonl").write_text("".join(lines[:20]))
    done = _run(PY310, outside, "short.jsonl", "--checkpoint", head, "--count", str(count + 1))
    assert done.returncode == 1
    assert f"FAILED at seq 21: the chain has 20 events; the checkpoint counts {count + 1}" in (
        done.stderr
    )

    # A full export refuses redacted entries when asked to (--full).
    public = _download(auditor, "/audit/export/public.jsonl", outside / "public.jsonl")
    public_head = json.loads(_lines(public)[-1])["hash"]
    done = _run(PY310, outside, "public.jsonl", "--checkpoint", public_head, "--full")
    assert done.returncode == 1
    assert "redacted entry where full events are required" in done.stderr

    assert _run(PY310, outside, "missing.jsonl", "--checkpoint", head).returncode == 2
    assert _run(PY310, outside, "full.jsonl", "--checkpoint", "nothex").returncode == 2


def test_signed_checkpoint_file_and_public_key(ledger, signing, client, outside):
    checkpoint, _ = checkpoints.checkpoint_record()
    (outside / "checkpoint.json").write_bytes(
        client.get(f"/audit/checkpoints/{checkpoint.day.isoformat()}.json").content
    )
    (outside / "key.pem").write_bytes(client.get("/audit/checkpoints/key/").content)
    _download(client, "/audit/export/public.csv", outside / "public.csv")
    args = ["public.csv", "--checkpoint-file", "checkpoint.json", "--public-key", "key.pem"]
    done = _run(VENV_PY, outside, *args)  # the signature check needs `cryptography`
    assert done.returncode == 0, done.stderr
    assert f"signature OK (key {checkpoint.key_id})" in done.stdout

    forged = json.loads((outside / "checkpoint.json").read_text())
    forged["count"] -= 1
    (outside / "forged.json").write_text(json.dumps(forged))
    done = _run(VENV_PY, outside, "public.csv", "--checkpoint-file", "forged.json",
                "--public-key", "key.pem")  # fmt: skip
    assert done.returncode == 1
    assert "signature does not match" in done.stderr


def test_verify_audit_export_runs_the_same_check(ledger, client, tmp_path, capsys):
    from modelspec_site.audit.models import Event

    export = _download(client, "/audit/export/public.jsonl", tmp_path / "p.jsonl")
    head = Event.objects.order_by("-seq").first()
    call_command("verify_audit", "--export", str(export), "--checkpoint", head.hash)
    assert f"OK: {head.seq} events, head {head.hash}" in capsys.readouterr().out

    lines = _lines(export)
    export.write_text("".join(lines[:4] + lines[5:]))
    with pytest.raises(SystemExit) as exited:
        call_command("verify_audit", "--export", str(export), "--checkpoint", head.hash)
    assert exited.value.code == 1
    assert "FAILED at seq 5" in capsys.readouterr().err


def test_main_reads_csv_and_jsonl_identically(ledger, client, tmp_path):
    jsonl = _download(client, "/audit/export/public.jsonl", tmp_path / "a.jsonl")
    csv_file = _download(client, "/audit/export/public.csv", tmp_path / "a.csv")
    with open(jsonl, encoding="utf-8") as a, open(csv_file, encoding="utf-8", newline="") as b:
        assert list(chain.read_export(a)) == list(chain.read_export(b))
