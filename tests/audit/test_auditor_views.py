"""The auditor's view (/staff/audit/): who may open it, what it shows, its filters, search and
pagination, and that every visit and export is itself a ledger event."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from modelspec_site.audit.ledger import PAGE_SIZE
from modelspec_site.audit.models import Event
from modelspec_site.audit.services import audit_record
from tests.audit.forgery import as_owner, drop_constraint, rewrite_data

from ..conftest import sign_in_two_factor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]
SUBJECT = {"type": "feedback.feedbackitem", "id": "42", "label": "MS-2025-00042"}


@pytest.fixture
def events(user):
    with transaction.atomic():
        audit_record(actor=user, action="feedback.submitted", subjects=[SUBJECT], data={"k": "a"})
        audit_record(actor=None, action="feedback.noted", subjects=[SUBJECT],
                     data={"note": "needle in the data"}, visibility="internal")  # fmt: skip
        audit_record(actor="anonymous", action="feedback.endorsed", data={})
        audit_record(actor=user, action="version.published", data={"label": "2025-09-12"})


def _urls():
    return [
        "/staff/audit/",
        "/staff/audit/events/2/",
        f"/staff/audit/subjects/{SUBJECT['type']}/{SUBJECT['id']}/",
        "/staff/audit/export.jsonl",
        "/staff/audit/export.csv",
    ]


@pytest.mark.parametrize("url", _urls())
def test_who_may_open_the_auditors_pages(events, client, make_user, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(make_user("plain"))
    assert client.get(url).status_code == 404  # the pages do not exist for the public
    for role in ("triager", "reviewer", "editor", "moderator"):
        staff = sign_in_two_factor(Client(), make_user(role, roles=[role], is_staff=True))
        assert staff.get(url).status_code == 403, role
    for who in (make_user("aud", roles=["auditor"], is_staff=True),
                get_user_model().objects.create_superuser("root", "r@example.org", "pw-root-123")):  # fmt: skip
        assert sign_in_two_factor(Client(), who).get(url).status_code == 200
    # Without the second factor, an auditor is sent to confirm it first.
    half = Client()
    half.force_login(make_user("aud2", roles=["auditor"], is_staff=True))
    assert half.get(url).status_code == 302


def test_views_and_exports_are_ledger_events(events, staff_client):
    auditor = staff_client("auditor", username="watcher")
    auditor.get("/staff/audit/?action=feedback&q=needle")
    viewed = Event.objects.order_by("-seq").first()
    assert (viewed.action, viewed.visibility, viewed.actor_label) == (
        "audit.viewed", "internal", "watcher",
    )  # fmt: skip
    assert viewed.data["filters"] == {"action": "feedback", "q": "needle"}
    auditor.get("/staff/audit/events/1/")
    assert Event.objects.order_by("-seq").first().data == {"page": "event", "seq": 1}
    b"".join(auditor.get("/staff/audit/export.csv").streaming_content)
    exported = Event.objects.order_by("-seq").first()
    assert exported.action == "audit.exported" and exported.data["format"] == "csv"
    # "Who saw or exported what": the ledger filtered on the audit actions.
    page = auditor.get("/staff/audit/?action=audit").content.decode()
    assert page.count("<code>audit.viewed</code>") >= 2
    assert "<code>audit.exported</code>" in page
    assert "<code>feedback.submitted</code>" not in page


def _shown(response) -> list[int]:
    return [e.seq for e in response.context["page"].events]


def test_filters_and_search(events, staff_client, user):
    auditor = staff_client("auditor", username="filterer")
    get = lambda query: auditor.get("/staff/audit/" + query)  # noqa: E731
    assert _shown(get("?visibility=internal&action=feedback")) == [2]
    assert _shown(get("?visibility=internal"))[-1] == 2  # after the views' own events
    assert _shown(get("?action=feedback")) == [3, 2, 1]
    assert _shown(get("?action=feedback.noted")) == [2]
    assert _shown(get(f"?actor={user.username}")) == [4, 1]
    assert _shown(get("?subject_type=feedback.feedbackitem&subject_id=42")) == [2, 1]
    # A search also finds the search itself (this view's audit.viewed event, listed first).
    assert _shown(get("?q=needle"))[1:] == [2]  # in the data
    assert _shown(get("?q=MS-2025-00042"))[1:] == [2, 1]  # in a subject's label
    assert _shown(get("?q=needle&action=feedback")) == [2]
    today = dt.datetime.now(dt.UTC).date()
    assert _shown(get(f"?end={today - dt.timedelta(days=1)}&action=feedback")) == []
    assert _shown(get(f"?start={today}&end={today}&action=feedback")) == [3, 2, 1]
    for bad in ("?start=yesterday", "?action=Not+An+Action", "?subject_id=4",
                "?visibility=secret", "?before=0", f"?start={today}&end=2000-01-01"):  # fmt: skip
        response = get(bad)
        assert response.status_code == 400, bad
        assert 'aria-invalid="true"' in response.content.decode() or "errorlist" in (
            response.content.decode()
        )


def test_keyset_pagination_covers_everything_once(staff_client):
    with transaction.atomic():
        for i in range(2 * PAGE_SIZE + 7):
            audit_record(actor=None, action="test.paged", data={"i": i})
    auditor = staff_client("auditor", username="pager")
    seen, url = [], "/staff/audit/?action=test"
    while url:
        response = auditor.get(url if url.startswith("/") else "/staff/audit/" + url)
        seen += _shown(response)
        url = response.context["next_url"]
    assert seen == sorted(seen, reverse=True)
    assert seen == list(range(2 * PAGE_SIZE + 7, 0, -1))


def test_the_search_window_is_bounded_and_continues(staff_client, monkeypatch):
    from modelspec_site.audit import ledger

    monkeypatch.setattr(ledger, "SCAN_WINDOW", 10)
    with transaction.atomic():
        for i in range(25):
            audit_record(actor=None, action="test.windowed", data={"hit": i in (2, 20)})
    auditor = staff_client("auditor", username="searcher")
    response = auditor.get("/staff/audit/?q=%22hit%22%3A+true")  # '"hit": true'
    page = response.context["page"]
    # The newest window holds seq 17..26 (26 is this view's own event): only 21 matches.
    assert _shown(response) == [21] and page.more_to_search
    assert "Searched events 17 to 26" in response.content.decode()
    older = auditor.get("/staff/audit/" + response.context["next_url"])
    assert _shown(older) == []
    last = auditor.get("/staff/audit/" + older.context["next_url"])
    assert _shown(last) == [3]


def test_event_detail_shows_canonical_json_and_hashes(events, staff_client):
    auditor = staff_client("auditor", username="reader")
    event = Event.objects.get(seq=2)
    body = auditor.get("/staff/audit/events/2/").content.decode()
    assert event.hash in body and event.prev_hash in body
    assert "needle in the data" in body and "(recomputed: matches)" in body
    assert auditor.get("/staff/audit/events/999/").status_code == 404
    assert "(hash: matches)" in body and "(columns: match)" in body
    assert event.canonical in body.replace("&quot;", '"')
    # A rewritten row shows as not matching.
    rewrite_data(2, {"x": 1})
    page = auditor.get("/staff/audit/events/2/").content.decode()
    assert "(recomputed: DOES NOT MATCH)" in page and "(hash: DOES NOT MATCH)" in page
    assert "(columns: match)" in page
    # With the constraint dropped, columns can drift from the stored text: shown too.
    drop_constraint()
    as_owner("UPDATE audit_event SET data = '{\"x\": 2}' WHERE seq = 2")
    page = auditor.get("/staff/audit/events/2/").content.decode()
    assert "(columns: DO NOT MATCH)" in page and "Re-encoded from the columns" in page


def test_an_objects_timeline_includes_internal_events(events, staff_client):
    auditor = staff_client("auditor", username="historian")
    response = auditor.get(f"/staff/audit/subjects/{SUBJECT['type']}/{SUBJECT['id']}/")
    assert [e.seq for e in response.context["events"]] == [1, 2]
    assert "MS-2025-00042" in response.content.decode()
    assert auditor.get("/staff/audit/subjects/Bad-Type/1/").status_code == 404
    assert auditor.get(f"/staff/audit/subjects/{SUBJECT['type']}/42/?after=x").status_code == 400
    assert Event.objects.order_by("-seq").first().data["subject"] == {
        "type": SUBJECT["type"], "id": "42",
    }  # fmt: skip


def test_the_ledger_link_is_for_auditors_only(events, staff_client, make_user):
    page = staff_client("auditor", username="linked").get("/staff/audit/").content.decode()
    assert 'href="/staff/audit/"' in page
    other = sign_in_two_factor(Client(), make_user("tri", roles=["triager"], is_staff=True))
    assert 'href="/staff/audit/"' not in other.get("/staff/queue/").content.decode()
