"""The triage queue's pages: who may see and act, rows and ageing, bulk actions (one refusal
among several), saved views and labels."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from feedback.models import FeedbackItem, Label, SavedView, State
from feedback.transitions import feedback_transition
from modelspec_site.audit.models import Event

pytestmark = pytest.mark.django_db

QUEUE = "/staff/queue/"
BULK = "/staff/queue/bulk/"
ROW = re.compile(r'<tr class="queue-row[^"]*"[^>]*data-tn="([^"]+)"')


def rows(response) -> list[str]:
    return ROW.findall(response.content.decode())


# --- Who may see and act -----------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(make_item):
    make_item(summary="Secret internal words", visibility="internal")
    for url in (QUEUE, "/staff/labels/", f"{QUEUE}?state=all"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for url in (BULK, "/staff/queue/views/", "/staff/queue/views/1/delete/", "/staff/labels/"):
        response = Client().post(url, {"action": "triage", "items": ["MS-2031-00001"]})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_public_account_gets_not_found(make_item, make_user, client):
    item = make_item(summary="Secret internal words", visibility="internal")
    client.force_login(make_user("commenter"))
    for url in (QUEUE, "/staff/labels/"):
        response = client.get(url)
        assert response.status_code == 404
        assert b"Secret internal words" not in response.content
    response = client.post(BULK, {"action": "triage", "items": [item.tracking_number]})
    assert response.status_code == 404
    assert FeedbackItem.objects.get(pk=item.pk).state == State.RECEIVED


def test_auditors_read_but_cannot_act(make_item, staff_client):
    item = make_item(summary="Something to read")
    client = staff_client("auditor")
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert rows(response) == [item.tracking_number]
    page = response.content.decode()
    assert 'name="action"' not in page and 'name="items"' not in page
    assert "Triage the item" not in page  # no acting shortcuts in the help
    response = client.post(BULK, {"action": "triage", "items": [item.tracking_number]})
    assert response.status_code == 403
    response = client.post("/staff/labels/", {"name": "from-an-auditor"})
    assert response.status_code == 403
    assert FeedbackItem.objects.get(pk=item.pk).state == State.RECEIVED
    assert not Label.objects.filter(name="from-an-auditor").exists()


def test_a_triager_sees_the_queue_with_ageing(make_item, staff_client, settings):
    settings.FEEDBACK_AGEING_DAYS = 10
    fresh = make_item(filed=2, summary="Fresh item")
    stale = make_item(filed=12, summary="Stale item")
    moved = make_item(filed=40, changed=3, state=State.TRIAGED, summary="Moved recently")
    make_item(state=State.DECLINED, changed=1, summary="Closed item")
    client = staff_client("triager")
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert rows(response) == [stale.tracking_number, moved.tracking_number, fresh.tracking_number]
    page = response.content.decode()
    assert page.count("queue-overdue-flag") == 1  # the word "Overdue", not only a colour
    overdue_row = re.search(r'<tr class="queue-row queue-overdue"[^>]*data-tn="([^"]+)"', page)
    assert overdue_row.group(1) == stale.tracking_number
    assert "1\xa0week, 5\xa0days" in page  # how long the stale item has waited
    assert f'href="/staff/items/{stale.tracking_number}/"' in page
    assert 'src="/static/js/queue.js"' in page and "Keyboard shortcuts" in page


def test_filters_through_the_page_and_htmx(make_item, staff_client):
    client = staff_client("triager")
    internal = make_item(visibility="internal")
    make_item()
    response = client.get(QUEUE, {"visibility": "internal"})
    assert rows(response) == [internal.tracking_number]
    response = client.get(QUEUE, {"visibility": "internal"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.content.decode() and rows(response) == [internal.tracking_number]
    bad = client.get(QUEUE, {"state": "bogus", "age": "soon"})
    assert bad.status_code == 400
    assert "state" in bad.content.decode() and "age" in bad.content.decode()


def test_pages_of_the_html_queue(make_item, staff_client, monkeypatch):
    from feedback import views_queue

    monkeypatch.setattr(views_queue, "PAGE_SIZE", 2)
    items = [make_item(filed=10 - i) for i in range(5)]
    client = staff_client("triager")
    seen, url = [], QUEUE
    while url:
        response = client.get(url)
        seen += rows(response)
        match = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == [i.tracking_number for i in items]


# --- Bulk actions ------------------------------------------------------------------------------


def bulk(client, action, items, *, htmx=True, **extra):
    data = {
        "action": action,
        "items": [i.tracking_number for i in items],
        "seen": [f"{i.tracking_number}:{i.state}" for i in items],
        "query": extra.pop("query", ""),
        **extra,
    }
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(BULK, data, **headers)


def test_bulk_triage_reports_a_conflict_without_failing_the_others(make_item, staff_client, staff):
    a, b, c = make_item(filed=3), make_item(filed=2), make_item(filed=1)
    client = staff_client("triager", username="tri")
    # Someone else triages b after the page was drawn: the bulk action finds it moved on.
    feedback_transition(acting_user=staff("triager", username="quicker"), item=b, action="triage")
    response = bulk(client, "triage", [a, b, c])
    assert response.status_code == 200
    page = response.content.decode()
    states = dict(FeedbackItem.objects.values_list("tracking_number", "state"))
    assert states[a.tracking_number] == states[c.tracking_number] == State.TRIAGED
    refused = re.findall(
        r'class="queue-outcome-refused" data-tn="([^"]+)" data-status="(\d+)"', page
    )
    assert refused == [(b.tracking_number, "409")]
    done = re.findall(r'class="queue-outcome-ok" data-tn="([^"]+)"', page)
    assert done == [a.tracking_number, c.tracking_number]
    assert "someone else acted on it first" in page
    # Each item went through the service: one ledger event each, by this triager.
    triaged = Event.objects.filter(action="feedback.triaged", actor_label="tri")
    assert triaged.count() == 2
    # The refreshed list shows the new states.
    assert page.count("fb-state-triaged") == 3


def test_bulk_assign_label_and_spam(make_item, staff_client, staff):
    a, b = make_item(filed=2), make_item(filed=1)
    colleague = staff("reviewer", username="colleague")
    label = Label.objects.create(name="needs-legal")
    client = staff_client("triager", username="me")
    bulk(client, "assign_me", [a, b])
    assert set(FeedbackItem.objects.values_list("assignee__username", flat=True)) == {"me"}
    bulk(client, "assign", [a], assignee="colleague")
    assert FeedbackItem.objects.get(pk=a.pk).assignee == colleague
    bulk(client, "unassign", [b])
    assert FeedbackItem.objects.get(pk=b.pk).assignee is None
    bulk(client, "label", [a, b], label=str(label.pk))
    assert label.items.count() == 2
    response = bulk(client, "assign", [a], assignee="nobody-here")
    assert "Choose a staff member" in response.content.decode()
    response = bulk(client, "mark_spam", [a, b], htmx=False, query="state=all")
    assert response.status_code == 302 and response["Location"] == "/staff/queue/?state=all"
    assert set(FeedbackItem.objects.values_list("state", flat=True)) == {State.SPAM}
    follow = client.get(response["Location"])
    assert f"{a.tracking_number}: Now" in follow.content.decode()  # the report, as messages


def test_bulk_refusals_by_role_and_bad_requests(make_item, staff_client):
    item = make_item()
    client = staff_client("moderator")  # may mark spam, may not assign
    response = bulk(client, "assign_me", [item])
    assert 'data-status="403"' in response.content.decode()
    assert FeedbackItem.objects.get(pk=item.pk).assignee is None
    response = bulk(client, "mark_spam", [item])
    assert FeedbackItem.objects.get(pk=item.pk).state == State.SPAM
    response = bulk(client, "explode", [item])
    assert "Choose an action" in response.content.decode()
    response = client.post(BULK, {"action": "triage"}, HTTP_HX_REQUEST="true")
    assert "Select at least one item" in response.content.decode()
    response = client.post(BULK, {"action": "triage", "items": ["MS-2099-99999"]},
                           HTTP_HX_REQUEST="true")  # fmt: skip
    assert 'data-status="404"' in response.content.decode()


# --- Saved views and labels --------------------------------------------------------------------


def test_saved_views_are_per_user(make_item, staff_client, staff):
    client = staff_client("triager", username="saver")
    response = client.post(
        "/staff/queue/views/",
        {"name": "Old internal", "query": "visibility=internal&age=10&cursor=zzz"},
    )
    assert response.status_code == 302
    view = SavedView.objects.get(user__username="saver")
    assert (view.name, view.query) == ("Old internal", "visibility=internal&age=10")
    assert response["Location"] == "/staff/queue/?visibility=internal&age=10"
    page = client.get(QUEUE).content.decode()
    assert 'href="/staff/queue/?visibility=internal&amp;age=10">Old internal</a>' in page
    # The same name again replaces the filters; a bad name or bad filters are refused.
    client.post("/staff/queue/views/", {"name": "Old internal", "query": "age=20"})
    assert SavedView.objects.get(user__username="saver").query == "age=20"
    client.post("/staff/queue/views/", {"name": " ", "query": "age=20"})
    client.post("/staff/queue/views/", {"name": "Broken", "query": "state=bogus"})
    assert SavedView.objects.filter(user__username="saver").count() == 1
    # Someone else's view cannot be deleted by this user.
    other = SavedView.objects.create(user=staff("reviewer", username="x"), name="Mine", query="")
    assert client.post(f"/staff/queue/views/{other.pk}/delete/").status_code == 404
    assert client.post(f"/staff/queue/views/{view.pk}/delete/").status_code == 302
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Mine"]


def test_labels_page(staff_client, make_item):
    client = staff_client("triager")
    make_item(labels=["existing"])
    response = client.get("/staff/labels/")
    assert response.status_code == 200 and "existing" in response.content.decode()
    response = client.post("/staff/labels/", {"name": "policy", "description": "Policy calls"})
    assert response.status_code == 302
    assert Label.objects.get(name="policy").description == "Policy calls"
    assert Event.objects.filter(action="label.created").exists()
    response = client.post("/staff/labels/", {"name": "POLICY"})
    assert response.status_code == 400 and "already a label" in response.content.decode()


def test_the_page_costs_the_same_queries_for_few_or_many_rows(make_item, staff_client, staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = staff_client("triager")
    other = staff("reviewer", username="other")
    counts = []
    for batch in (2, 30):
        for i in range(batch):
            make_item(filed=i, labels=["x", f"y{i % 3}"], assignee=other if i % 2 else None)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(QUEUE)
        assert response.status_code == 200
        counts.append(len(queries))
    assert len(rows(response)) == 32
    assert counts[0] == counts[1], counts
