"""Import and publish through the services and the contract's commands, on PostgreSQL."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from modelspec_site.audit.models import Event
from revisions.importing import SpecSyntaxError
from revisions.models import AuthorityLevel, Clause, ClauseText, Example, Spec, Version
from revisions.services import (
    VersionStateError,
    authority_level_set,
    spec_ensure,
    version_import,
    version_publish,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

SMALL = b"# Top {#top}\n\nIntro.\n\n## Rule {#rule authority=root}\n\nDo it.\n"


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Spec, AuthorityLevel, Version, Clause, ClauseText, Example, Event)
    }


def test_bundled_versions_are_stored_with_states_and_parents():
    versions = {v.label: v for v in Version.objects.filter(spec__slug="model-spec")}
    assert {label: v.state for label, v in versions.items()} == {
        "2025-02-12": "superseded",
        "2025-04-11": "superseded",
        "2025-09-12": "published",
    }
    assert versions["2025-09-12"].parent == versions["2025-04-11"]
    assert versions["2025-04-11"].parent == versions["2025-02-12"]
    assert versions["2025-02-12"].parent is None
    latest = versions["2025-09-12"]
    assert (latest.clause_count, latest.example_count) == (77, 173)
    assert latest.clause_texts.count() == 77
    assert Example.objects.filter(version=latest).count() == 173


def test_clause_texts_carry_the_fields_of_the_design():
    text = ClauseText.objects.select_related("parent").get(
        version__label="2025-09-12", anchor="follow_all_applicable_instructions"
    )
    assert (text.level, text.number, text.authority) == (2, "3.1", "root")
    assert text.authority_rank == 0
    assert text.parent.anchor == "chain_of_command"
    assert text.heading == "Follow all applicable instructions"
    assert "applicable instructions" in text.plain_text
    assert "[^m12p]" in text.body_markdown
    assert 'data-ref="m12p"' in text.body_html
    assert "m12p" not in text.plain_text  # eval markers are references, not text
    assert re.search(
        r'<a href="#ignore_untrusted_data" class="xref"[^>]*>Ignore untrusted data by default</a>',
        text.body_html,
    )
    assert '<aside class="commentary"' in text.body_html
    assert len(text.content_hash) == 64
    example = text.examples.order_by("position").first()
    assert example.turns[2]["label"] == "BAD" and example.turns[2]["candidate"] is True
    # The same clause identity spans versions, even where authority words changed.
    older = ClauseText.objects.get(
        version__label="2025-02-12", anchor="follow_all_applicable_instructions"
    )
    assert older.clause_id == text.clause_id
    assert older.authority == "platform" and older.authority_rank == 0


def test_reimporting_the_same_file_changes_nothing(bundled_source):
    before = table_counts()
    ids = list(ClauseText.objects.filter(version__label="2025-09-12").values_list("pk", flat=True))
    call_command(
        "import_spec",
        str(ROOT / "data/model-spec/2025-09-12.md"),
        spec="model-spec",
        label="2025-09-12",
        publish=True,
    )
    assert table_counts() == before
    assert (
        list(ClauseText.objects.filter(version__label="2025-09-12").values_list("pk", flat=True))
        == ids
    )


def test_publishing_records_events_and_supersedes(django_capture_on_commit_callbacks):
    spec = spec_ensure(slug="tiny", title="Tiny")
    first = version_import(spec=spec, label="v1", data=SMALL, publish=True).version
    second = version_import(spec=spec, label="v2", data=SMALL + b"\nMore.\n").version
    assert second.state == "draft" and second.parent == first
    events_before = Event.objects.count()
    version_publish(version=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("superseded", "published")
    assert first.superseded_at is not None and second.published_at is not None
    new_events = list(Event.objects.order_by("seq")[events_before:])
    assert [e.action for e in new_events] == ["version.published"]
    assert new_events[0].data["supersedes"] == "v1"
    with pytest.raises(VersionStateError):
        version_publish(version=second)


def test_published_text_is_immutable():
    spec = spec_ensure(slug="frozen")
    version_import(spec=spec, label="v1", data=SMALL, publish=True)
    with pytest.raises(VersionStateError, match="cannot change"):
        version_import(spec=spec, label="v1", data=SMALL + b"\nChanged.\n")
    assert ClauseText.objects.get(version__spec=spec, anchor="rule").plain_text == "Do it."


def test_a_draft_can_be_replaced_by_new_text():
    spec = spec_ensure(slug="drafty")
    version_import(spec=spec, label="v1", data=SMALL)
    result = version_import(spec=spec, label="v1", data=SMALL.replace(b"Do it.", b"Do it well."))
    assert result.changed and not result.created
    assert ClauseText.objects.get(version__spec=spec, anchor="rule").plain_text == "Do it well."
    assert list(
        Event.objects.filter(subjects__contains=[{"id": str(result.version.pk)}])
        .order_by("seq")
        .values_list("action", flat=True)
    )[-2:] == ["version.imported", "version.reimported"]


def test_authority_vocabulary_is_per_spec_and_editable(make_user):
    spec = spec_ensure(slug="vocab")
    source = b"# Top {#top}\n\n## Rule {#rule authority=emperor}\n\nDo it.\n"
    with pytest.raises(SpecSyntaxError, match="not in this spec's vocabulary"):
        version_import(spec=spec, label="v1", data=source)
    editor = make_user("ed", roles=["editor"])
    authority_level_set(spec=spec, name="emperor", rank=0, acting_user=editor)
    version = version_import(spec=spec, label="v1", data=source).version
    assert version.clause_texts.get(anchor="rule").authority == "emperor"
    assert Event.objects.filter(action="spec.authority_level_set", actor=editor).exists()


BAD_FILES = [
    (b"", "is empty"),
    (b"# A {#a}\n\n\xff\xfe\n", ":3: the file is not valid UTF-8"),
    (b"# A {#a}\n\n## B {#a}\n", ":3: duplicate id #a"),
    (b"# A {#a}\n\n## B without id\n", ":3: heading has no {#id}"),
    (b"# A {#a authority=emperor}\n", ":1: authority 'emperor' is not in"),
    (b"# A {#a}\n\n**Example**: t\n\n~~~xml\n<user>\nhi\n</user>\n", ":5: example block"),
    (b"# A {#a}\n\n# " + b"x" * (5 * 1024 * 1024), "the limit is 5,242,880 bytes"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_bad_files_fail_with_the_line_and_leave_the_database_as_it_was(tmp_path, content, message):
    bad = tmp_path / "bad.md"
    bad.write_bytes(content)
    before = table_counts()
    with pytest.raises(CommandError) as caught:
        call_command("import_spec", str(bad), spec="model-spec", label="2026-01-01")
    assert message in str(caught.value)
    assert str(bad) in str(caught.value)
    assert table_counts() == before


def test_a_failure_while_storing_rolls_everything_back(monkeypatch):
    spec = spec_ensure(slug="rollback")
    before = table_counts()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Example.objects, "bulk_create", explode)
    source = b"# A {#a}\n\n**Example**: t\n\n~~~xml\n<user>\nhi\n</user>\n~~~\n"
    with pytest.raises(RuntimeError, match="disk full"):
        version_import(spec=spec, label="v1", data=source, publish=True)
    assert table_counts() == before


def test_the_command_exits_non_zero_with_a_clear_message(tmp_path):
    bad = tmp_path / "dup.md"
    bad.write_bytes(b"# A {#a}\n\n## B {#a}\n")
    settings_dict = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
            f"/{settings_dict['NAME']}"
        ),
        "DJANGO_SETTINGS_MODULE": "modelspec_site.settings.test",
    }
    args = ["import_spec", str(bad), "--spec", "model-spec", "--label", "x1"]
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert f"{bad}:3: duplicate id #a (first used on line 1)" in done.stderr
    assert "Traceback" not in done.stderr


def test_verify_audit_passes_after_the_load(capsys):
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert f"{Event.objects.count()} events" in out
