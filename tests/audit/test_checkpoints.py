"""Signed daily checkpoints, their publication, and tamper detection against them: a rewrite
or a deletion made with the database protection switched off (as a superuser could) is caught,
even when the whole chain after it is recomputed."""

import base64
import datetime as dt
import json
from xml.etree import ElementTree

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from modelspec_site.audit import chain, checkpoints
from modelspec_site.audit.models import Checkpoint, Event
from modelspec_site.audit.services import audit_record
from modelspec_site.audit.tasks import checkpoint_record_task
from tests.audit.forgery import as_owner, rehash_from, rewrite_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]


@pytest.fixture(autouse=True)
def signing(settings):
    key = Ed25519PrivateKey.generate()
    settings.AUDIT_CHECKPOINT_SIGNING_KEY = base64.b64encode(key.private_bytes_raw()).decode()
    checkpoints._signing_key.cache_clear()
    yield key
    checkpoints._signing_key.cache_clear()


def _record(n: int, start: int = 0) -> None:
    with transaction.atomic():
        for i in range(start, start + n):
            audit_record(actor=None, action="test.recorded", data={"i": i})


def _verify(capsys, *args: str) -> tuple[int, str]:
    try:
        call_command("verify_audit", *args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_checkpoint_is_signed_once_a_day(signing):
    _record(5)
    first, created = checkpoints.checkpoint_record()
    assert created and first.count == 5
    assert first.head_hash == Event.objects.get(seq=5).hash
    again, created = checkpoints.checkpoint_record()
    assert not created and again.pk == first.pk
    _record(2, 5)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    second, created = checkpoints.checkpoint_record(now=tomorrow)
    assert created and second.count == 7
    assert second.created_at_text == chain.format_timestamp(tomorrow)
    public = signing.public_key().public_bytes_raw()
    assert second.key_id == chain.public_key_id(public)
    assert chain.checkpoint_signature_valid(second.as_dict(), public)
    assert not chain.checkpoint_signature_valid(second.as_dict() | {"count": 6}, public)
    # A day without new events still gets its (dated, signed) checkpoint.
    third, created = checkpoints.checkpoint_record(now=tomorrow + dt.timedelta(days=1))
    assert created and (third.count, third.head_hash) == (7, second.head_hash)


def test_checkpoints_cannot_be_rewritten(signing):
    checkpoint, _ = checkpoints.checkpoint_record()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(count=99)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Checkpoint.objects.filter(pk=checkpoint.pk).delete()


@pytest.mark.usefixtures("eager_tasks")
def test_the_daily_task_is_scheduled_and_records(django_capture_on_commit_callbacks, tmp_path,
                                                 settings):  # fmt: skip
    entry = django_settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["task"] == checkpoint_record_task.name == "audit.checkpoint_record"
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "outside")
    _record(3)
    with django_capture_on_commit_callbacks(execute=True):
        assert checkpoint_record_task.delay().get() == 3
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint_record_task.delay().get()
    files = list((tmp_path / "outside").iterdir())
    assert len(files) == 1  # idempotent per day
    copy = json.loads(files[0].read_text())
    stored = Checkpoint.objects.get()
    assert copy == stored.as_dict() | {"day": stored.day.isoformat()}


def test_a_missing_key_is_generated_once_in_the_key_file(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_SIGNING_KEY = ""
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(tmp_path / "var" / "key")
    checkpoints._signing_key.cache_clear()
    first = checkpoints.public_key_raw()
    assert (tmp_path / "var" / "key").stat().st_mode & 0o777 == 0o600
    checkpoints._signing_key.cache_clear()
    assert checkpoints.public_key_raw() == first


def test_public_page_feed_key_and_api(client, signing):
    _record(4)
    checkpoint, _ = checkpoints.checkpoint_record()
    page = client.get("/audit/checkpoints/")
    assert page.status_code == 200
    assert checkpoint.head_hash in page.content.decode()
    feed = client.get("/audit/checkpoints/feed/")
    assert feed.status_code == 200 and feed["Content-Type"].startswith("application/atom+xml")
    atom = ElementTree.fromstring(feed.content)  # noqa: S314 - our own feed
    entries = atom.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1 and checkpoint.head_hash in ElementTree.tostring(entries[0]).decode()
    key = client.get("/audit/checkpoints/key/")
    assert chain.load_public_key(key.content.decode()) == signing.public_key().public_bytes_raw()
    api = client.get("/api/v1/audit/checkpoints/")
    assert api.status_code == 200
    [row] = api.json()["results"]
    assert row == checkpoint.as_dict() | {"day": checkpoint.day.isoformat()}
    assert client.get("/audit/checkpoints/1999-01-01.json").status_code == 404
    assert client.get("/audit/checkpoints/not-a-day.json").status_code == 404
    assert client.get("/api/v1/audit/checkpoints/?cursor=bad").status_code == 400


def test_checkpoints_are_in_the_public_schema_with_an_example(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/audit/checkpoints/"]["get"]
    assert operation["operationId"] == "audit_checkpoints_list"
    assert "examples" in json.dumps(operation["responses"]["200"])
    assert not [p for p in schema["paths"] if p.startswith("/api/v1/audit/events/")]


def test_history_that_only_grew_matches_an_old_checkpoint(capsys):
    _record(10)
    old, _ = checkpoints.checkpoint_record()
    _record(5, 10)
    code, out = _verify(capsys, "--checkpoint", old.head_hash, "--count", str(old.count))
    assert code == 0 and "OK: 15 events" in out
    code, out = _verify(capsys, "--checkpoint", old.head_hash)  # no count: must be the head
    assert code == 1 and "is not the checkpoint's" in out


def test_rewriting_an_old_event_is_caught_even_after_rehashing(capsys):
    _record(10)
    old, _ = checkpoints.checkpoint_record()
    _record(5, 10)
    rewrite_data(4, {"i": 999})
    code, out = _verify(capsys)
    assert code == 1 and "FAILED at seq 4: hash does not match" in out
    rehash_from(4)
    code, out = _verify(capsys)
    assert code == 0  # consistent again: only a checkpoint kept elsewhere can tell
    code, out = _verify(capsys, "--checkpoint", old.head_hash, "--count", "10")
    assert code == 1
    assert "FAILED at seq 10: event 10 has hash" in out and "rewritten" in out


def test_deleting_an_old_event_is_caught_even_after_renumbering(capsys):
    _record(10)
    old, _ = checkpoints.checkpoint_record()
    as_owner("DELETE FROM audit_event WHERE seq = 3")
    code, out = _verify(capsys)
    assert code == 1 and "FAILED at seq 3: expected seq 3, found 4" in out
    rehash_from(4, renumber_to=3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_event")
        assert cursor.fetchone()[0] == 9
    assert _verify(capsys)[0] == 0
    code, out = _verify(capsys, "--checkpoint", old.head_hash, "--count", "10")
    assert code == 1
    assert "FAILED at seq 10: the chain has 9 events; the checkpoint counts 10" in out


def test_a_rewritten_export_fails_offline_against_the_checkpoint(client, capsys, tmp_path):
    _record(8)
    old, _ = checkpoints.checkpoint_record()
    (tmp_path / "checkpoint.json").write_bytes(
        client.get(f"/audit/checkpoints/{old.day.isoformat()}.json").content
    )
    rewrite_data(2, {"i": -1})
    rehash_from(2)
    export = tmp_path / "after.jsonl"
    export.write_bytes(b"".join(client.get("/audit/export/public.jsonl").streaming_content))
    code, out = _verify(capsys, "--export", str(export), "--checkpoint-file",
                        str(tmp_path / "checkpoint.json"))  # fmt: skip
    assert code == 1 and "FAILED at seq 8" in out and "rewritten" in out


def test_bad_arguments_are_clear_errors(capsys):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="64 lowercase hex"):
        call_command("verify_audit", "--checkpoint", "xyz")
    with pytest.raises(CommandError, match="--count needs --checkpoint"):
        call_command("verify_audit", "--count", "3")
