"""Open data downloads (/data/): every public item, decision, version and clause text, nothing
internal or hidden, the same for staff as for the public; CSV defused against formulas;
streamed in batches."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from feedback import opendata
from feedback import transitions as work
from feedback.models import FeedbackItem, Visibility
from feedback.services import Quote, Submission, feedback_hide, feedback_submit
from revisions.models import ClauseText, Spec, Version
from revisions.services import version_import

pytestmark = pytest.mark.django_db

LATEST, OLDER = "2025-09-12", "2025-04-11"
CLAUSE = "letter_and_spirit"
SECRET = "SECRET-INTERNAL-7f3a"
HIDDEN = "HIDDEN-TEXT-91bc"
EMAIL = "private-address-42@example.org"


def _passage(label: str) -> str:
    text = ClauseText.objects.get(version__label=label, anchor=CLAUSE).plain_text
    return " ".join(text.split()[2:9])


@pytest.fixture
def world(make_user):
    staff = make_user("triager1", roles=["triager", "moderator"], is_staff=True)
    latest = Version.objects.get(spec__slug="model-spec", label=LATEST)
    older = Version.objects.get(spec__slug="model-spec", label=OLDER)

    def file(user=None, **fields):
        submission = Submission(version=latest, clause_id=CLAUSE, kind="unclear", **fields)
        return feedback_submit(acting_user=user or AnonymousUser(), submission=submission).item

    items = {
        "public": file(
            summary="Public with a passage",
            body="Some *details*.",
            quote=Quote(exact=_passage(LATEST)),
            submitter_name="Ada",
            submitter_email=EMAIL,
            affiliation="Lab",
        ),
        "older": file(summary="Filed on the older version"),
        "formula": file(summary='=HYPERLINK("http://evil")', body="+1 -2", suggested_text="@SUM"),
        "internal": file(
            staff, summary=f"Internal {SECRET}", body=SECRET, visibility=Visibility.INTERNAL
        ),
        "hidden": file(summary=f"Hidden {HIDDEN}", body=HIDDEN),
        "declined": file(summary="Will be declined"),
    }
    # Filed while the older version was open for comments.
    FeedbackItem.objects.filter(pk=items["older"].pk).update(
        version=older, clause_text=ClauseText.objects.get(version=older, anchor=CLAUSE)
    )
    feedback_hide(acting_user=staff, item=items["hidden"], reason="Off-topic")
    work.feedback_transition(acting_user=staff, item=items["declined"], action="decline",
                             rationale="Already covered by the clause.")  # fmt: skip
    work.feedback_transition(acting_user=staff, item=items["internal"], action="decline",
                             rationale=f"Internal rationale {SECRET}")  # fmt: skip
    work.feedback_transition(acting_user=staff, item=items["hidden"], action="decline",
                             rationale=f"Hidden rationale {HIDDEN}")  # fmt: skip
    return {name: FeedbackItem.objects.get(pk=item.pk) for name, item in items.items()}


@pytest.fixture
def draft():
    source = b"# Overview {#overview}\n\nDRAFT-ONLY words.\n\n# New {#draft_only_clause}\n\nX.\n"
    spec = Spec.objects.get(slug="model-spec")
    return version_import(spec=spec, label="2099-01-01", data=source).version


def _get(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.streaming, url
    return b"".join(response.streaming_content)


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


def _jsonl(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.decode("utf-8").splitlines()]


def _public_numbers() -> set[str]:
    rows = FeedbackItem.objects.filter(visibility=Visibility.PUBLIC, hidden=False)
    return set(rows.values_list("tracking_number", flat=True))


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_feedback_holds_every_public_item_and_nothing_else(world, staff_client, who):
    client = staff_client("auditor", "triager", username="reader") if who == "staff" else Client()
    for fmt, parse in (("csv", _csv), ("jsonl", _jsonl)):
        body = _get(client, f"/data/feedback.{fmt}")
        numbers = [row["tracking_number"] for row in parse(body)]
        assert len(numbers) == len(set(numbers))
        assert set(numbers) == _public_numbers()
        assert world["public"].tracking_number in numbers
        assert world["older"].tracking_number in numbers
        assert world["internal"].tracking_number not in numbers
        assert world["hidden"].tracking_number not in numbers
        for secret in (SECRET, HIDDEN, EMAIL, "triager1", "reader@"):
            assert secret.encode() not in body, (fmt, secret)


def test_feedback_fields_are_the_public_ones(world):
    rows = {r["tracking_number"]: r for r in _jsonl(_get(Client(), "/data/feedback.jsonl"))}
    item = world["public"]
    row = rows[item.tracking_number]
    assert list(row) == [c.name for c in opendata.FEEDBACK_COLUMNS]
    assert row["url"] == f"http://testserver/feedback/{item.tracking_number}/"
    assert (row["spec"], row["version"], row["clause"]) == ("model-spec", LATEST, CLAUSE)
    assert row["summary"] == "Public with a passage"
    assert row["body"] == "Some *details*."
    assert row["quote_exact"] == _passage(LATEST)
    assert (row["quote_start"], row["quote_end"]) == (item.position_start, item.position_end)
    assert row["submitter_name"] == "Ada"
    assert row["affiliation"] == "Lab"
    assert row["state"] == "received"
    assert row["resolution"] == ""
    assert row["created_at"].endswith("Z")
    declined = rows[world["declined"].tracking_number]
    assert declined["state"] == "declined"
    assert declined["resolution"] == "Already covered by the clause."
    assert declined["updated_at"] >= declined["created_at"]
    assert not {"submitter_email", "visibility", "hidden", "report_count"} & set(row)


def test_decisions_are_the_public_ones(world):
    for fmt, parse in (("csv", _csv), ("jsonl", _jsonl)):
        body = _get(Client(), f"/data/decisions.{fmt}")
        rows = parse(body)
        assert [r["tracking_number"] for r in rows] == [world["declined"].tracking_number]
        assert rows[0]["decision"] == "declined"
        assert rows[0]["rationale"] == "Already covered by the clause."
        for secret in (SECRET, HIDDEN, "triager1"):
            assert secret.encode() not in body


def test_versions_and_clauses_are_the_published_ones(draft):
    versions = _jsonl(_get(Client(), "/data/versions.jsonl"))
    assert {v["version"] for v in versions} == {"2025-02-12", "2025-04-11", "2025-09-12"}
    assert {v["state"] for v in versions} == {"published", "superseded"}
    latest = next(v for v in versions if v["version"] == LATEST)
    assert latest["parent"] == OLDER
    assert latest["source_sha256"] == Version.objects.get(label=LATEST).source_hash

    body = _get(Client(), "/data/clauses.csv")
    rows = _csv(body)
    published = ClauseText.objects.exclude(version__state=Version.State.DRAFT)
    assert len(rows) == published.count()
    assert b"DRAFT-ONLY" not in body and b"draft_only_clause" not in body
    assert b"2099-01-01" not in body
    row = next(r for r in rows if r["version"] == LATEST and r["clause"] == CLAUSE)
    text = ClauseText.objects.get(version__label=LATEST, anchor=CLAUSE)
    assert row["plain_text"] == text.plain_text
    assert row["content_hash"] == text.content_hash
    assert row["url"].endswith(f"/specs/model-spec/versions/{LATEST}/clauses/{CLAUSE}/")


def test_csv_defuses_formulas_and_jsonl_keeps_values(world):
    number = world["formula"].tracking_number
    row = next(r for r in _csv(_get(Client(), "/data/feedback.csv"))
               if r["tracking_number"] == number)  # fmt: skip
    assert row["summary"] == '\'=HYPERLINK("http://evil")'
    assert row["body"] == "'+1 -2"
    assert row["suggested_text"] == "'@SUM"
    assert opendata.csv_cell("-1") == "'-1"
    assert opendata.csv_cell("\tx") == "'\tx"
    assert opendata.csv_cell("plain = text") == "plain = text"
    assert opendata.csv_cell(-1) == "'-1"  # a number is only written as text; defused alike
    assert opendata.csv_cell(None) == ""
    assert opendata.csv_cell([{"a": 1}]) == '[{"a":1}]'
    row = next(r for r in _jsonl(_get(Client(), "/data/feedback.jsonl"))
               if r["tracking_number"] == number)  # fmt: skip
    assert row["summary"] == '=HYPERLINK("http://evil")'


def test_downloads_stream_in_batches(world, monkeypatch):
    """Rows are read a batch per query and sent as they are encoded: the first chunk leaves
    after one query, and the whole file takes one query per batch."""
    monkeypatch.setattr(opendata, "BATCH", 2)
    monkeypatch.setattr(opendata, "FLUSH_ROWS", 1)
    total = len(_public_numbers())
    assert total >= 4
    with CaptureQueriesContext(connection) as queries:
        stream = opendata.dataset_stream(name="feedback", fmt="jsonl", base_url="")
        assert queries.captured_queries == []  # nothing read before the first chunk is asked
        first = next(stream)
        assert len(queries.captured_queries) == 1
        assert len(first.splitlines()) == 1
        rest = list(stream)
    assert len(rest) == total - 1
    # One query per batch, and one that finds the end when the last batch is full.
    assert len(queries.captured_queries) == math.ceil(total / 2) + (1 if total % 2 == 0 else 0)


def test_unknown_files_are_404():
    for url in ("/data/nothing.csv", "/data/feedback.xml", "/data/feedback.jsonl/"):
        assert Client().get(url).status_code == 404


def test_the_data_page_describes_every_file(settings):
    settings.OPEN_DATA_LICENSE = "ODbL 1.0"
    response = Client().get("/data/")
    assert response.status_code == 200
    page = response.content.decode()
    for dataset in opendata.DATASETS.values():
        assert f'href="/data/{dataset.name}.csv"' in page
        assert f'href="/data/{dataset.name}.jsonl"' in page
        for column in dataset.columns:
            assert f"<code>{column.name}</code>" in page
    assert "ODbL 1.0" in page and "CC0 1.0" in page
    assert "apostrophe" in page
    assert 'href="/data/"' in Client().get("/feedback/").content.decode()  # footer link
