"""Atom feeds: new versions of a spec, decisions, a clause's feedback. Public only (whoever
reads them), summaries escaped, and linked from the pages they belong to."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # our own responses, not untrusted input

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from feedback import transitions as work
from feedback.models import FeedbackItem, Visibility
from feedback.services import Submission, feedback_hide, feedback_submit
from revisions.models import Spec, Version
from revisions.services import version_import

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
LATEST = "2025-09-12"
CLAUSE = "letter_and_spirit"
SECRET = "SECRET-INTERNAL-c0ffee"
HIDDEN = "HIDDEN-TEXT-beef"
DRAFT = "2099-01-01"


@pytest.fixture
def world(make_user):
    staff = make_user("triager1", roles=["triager", "moderator"], is_staff=True)
    latest = Version.objects.get(spec__slug="model-spec", label=LATEST)

    def file(user=None, **fields):
        submission = Submission(version=latest, clause_id=CLAUSE, kind="unclear", **fields)
        return feedback_submit(acting_user=user or AnonymousUser(), submission=submission).item

    items = {
        "public": file(summary="Public <b>bold</b> & co", body="<script>alert(1)</script>"),
        "internal": file(
            staff, summary=f"Internal {SECRET}", body=SECRET, visibility=Visibility.INTERNAL
        ),
        "hidden": file(summary=f"Hidden {HIDDEN}", body=HIDDEN),
        "declined": file(summary="Declined one"),
    }
    feedback_hide(acting_user=staff, item=items["hidden"], reason="Off-topic")
    work.feedback_transition(acting_user=staff, item=items["declined"], action="decline",
                             rationale="No: <img src=x onerror=alert(1)>")  # fmt: skip
    work.feedback_transition(acting_user=staff, item=items["internal"], action="decline",
                             rationale=f"Internal rationale {SECRET}")  # fmt: skip
    work.feedback_transition(acting_user=staff, item=items["hidden"], action="decline",
                             rationale=f"Hidden rationale {HIDDEN}")  # fmt: skip
    spec = Spec.objects.get(slug="model-spec")
    source = b"# Overview {#overview}\n\nDRAFT words.\n\n# Only here {#draft_only}\n\nX.\n"
    version_import(spec=spec, label=DRAFT, data=source)
    return {name: FeedbackItem.objects.get(pk=item.pk) for name, item in items.items()}


def _feed(client: Client, url: str) -> tuple[ET.Element, bytes]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content), response.content  # noqa: S314


def _entries(root: ET.Element) -> list[dict[str, str]]:
    return [
        {
            "title": entry.findtext(f"{ATOM}title"),
            "link": entry.find(f"{ATOM}link").get("href"),
            "summary": entry.findtext(f"{ATOM}summary") or "",
            "id": entry.findtext(f"{ATOM}id"),
        }
        for entry in root.iter(f"{ATOM}entry")
    ]


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_versions_feed_lists_published_versions_only(world, staff_client, who):
    client = staff_client("editor", "reviewer", username="ed") if who == "staff" else Client()
    root, raw = _feed(client, "/specs/model-spec/versions/feed/")
    entries = _entries(root)
    links = [e["link"] for e in entries]
    assert links == [
        f"http://testserver/specs/model-spec/versions/{label}/"
        for label in ("2025-09-12", "2025-04-11", "2025-02-12")
    ]
    assert DRAFT.encode() not in raw and b"DRAFT words" not in raw
    assert Client().get("/specs/no-such-spec/versions/feed/").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_decisions_feed_is_public_decisions_escaped(world, staff_client, who):
    client = staff_client("triager", username="tri") if who == "staff" else Client()
    root, raw = _feed(client, "/feedback/decisions/feed/")
    entries = _entries(root)
    number = world["declined"].tracking_number
    assert [e["link"] for e in entries] == [f"http://testserver/feedback/{number}/"]
    for secret in (SECRET, HIDDEN, world["internal"].tracking_number,
                   world["hidden"].tracking_number, "triager1"):  # fmt: skip
        assert secret.encode() not in raw
    # <summary type="html">: a reader renders it as HTML, so what was written is escaped in it.
    summary = entries[0]["summary"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in summary
    assert "<img" not in summary
    assert entries[0]["title"].startswith(f"{number} Declined: Declined one")


def test_clause_feed_is_the_clauses_public_feedback(world):
    root, raw = _feed(Client(), f"/feedback/clauses/model-spec/{CLAUSE}/feed/")
    entries = _entries(root)
    numbers = {e["link"].rsplit("/", 2)[-2] for e in entries}
    assert numbers == {world["public"].tracking_number, world["declined"].tracking_number}
    for secret in (SECRET, HIDDEN, world["internal"].tracking_number):
        assert secret.encode() not in raw
    public = next(e for e in entries if world["public"].tracking_number in e["link"])
    assert public["title"] == f"{world['public'].tracking_number}: Public <b>bold</b> & co"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in public["summary"]
    assert "<script" not in public["summary"]


def test_clause_feed_of_a_missing_or_draft_only_clause_is_404(world):
    for clause in ("no_such_clause", "draft_only"):
        assert Client().get(f"/feedback/clauses/model-spec/{clause}/feed/").status_code == 404
    assert Client().get(f"/feedback/clauses/nospec/{CLAUSE}/feed/").status_code == 404


def test_characters_xml_cannot_carry_are_dropped(world):
    FeedbackItem.objects.filter(pk=world["public"].pk).update(
        summary="Bell \x07 and form feed \x0c", body="Vertical \x0b tab"
    )
    root, _ = _feed(Client(), f"/feedback/clauses/model-spec/{CLAUSE}/feed/")
    titles = [e["title"] for e in _entries(root)]
    assert f"{world['public'].tracking_number}: Bell  and form feed " in titles


def test_pages_link_their_feeds(world):
    spec_page = Client().get("/specs/model-spec/").content.decode()
    assert (
        '<link rel="alternate" type="application/atom+xml" href="/specs/model-spec/versions/feed/"'
    ) in spec_page
    tracker = Client().get("/feedback/").content.decode()
    assert 'type="application/atom+xml" href="/feedback/decisions/feed/"' in tracker
    assert "/feedback/clauses/" not in tracker
    filtered = Client().get(f"/feedback/?clause={CLAUSE}").content.decode()
    assert f'href="/feedback/clauses/model-spec/{CLAUSE}/feed/"' in filtered
    # A filter value no feed address can hold: no link, no error.
    odd = Client().get("/feedback/?clause=a/b")
    assert odd.status_code == 200
