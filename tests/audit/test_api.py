"""GET /api/v1/audit/events/: auditors only, newest first, cursor-paginated, re-verifiable."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from modelspec_site.audit import chain
from modelspec_site.audit.services import audit_record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]

URL = "/api/v1/audit/events/"


@pytest.fixture
def events(user):
    group = Group.objects.create(name="triagers")
    recorded = [
        audit_record(actor=user, action="group.created", subjects=[group], data={"i": 0}),
        audit_record(actor="anonymous", action="feedback.received", data={"i": 1}),
        audit_record(actor=None, action="feedback.noted", data={"i": 2}, visibility="internal"),
    ]
    return recorded


def test_the_route_is_where_the_clients_expect_it():
    assert reverse("audit_api:event-list") == URL


def test_anonymous_is_refused(api_client, events):
    response = api_client.get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"
    assert "feedback" not in response.content.decode()


def test_a_signed_in_non_auditor_is_refused(api_client, user, events):
    staff = get_user_model().objects.create_user("rita", "rita@example.org", "pw-rita-123")
    staff.groups.add(Group.objects.create(name="reviewer"))
    for person in (user, staff):
        api_client.force_authenticate(person)
        response = api_client.get(URL)
        assert response.status_code == 403
        assert response.json() == {
            "code": "permission_denied",
            "detail": "Only auditors may read the ledger.",
        }


def test_an_auditor_sees_every_event_newest_first(api_client, auditor, user, events):
    api_client.force_authenticate(auditor)
    response = api_client.get(URL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    body = response.json()
    assert [event["seq"] for event in body["results"]] == [3, 2, 1]
    assert body["results"][0]["visibility"] == "internal"
    oldest = body["results"][-1]
    assert oldest == {
        "seq": 1,
        "created_at": chain.format_timestamp(events[0].created_at),
        "actor_kind": "user",
        "actor_label": "alice",
        "actor_id": str(user.pk),
        "action": "group.created",
        "subjects": events[0].subjects,
        "visibility": "public",
        "data": {"i": 0},
        "prev_hash": chain.GENESIS_HASH,
        "hash": events[0].hash,
    }


def test_a_superuser_is_an_auditor(api_client, events):
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-123")
    api_client.force_authenticate(root)
    assert api_client.get(URL).status_code == 200


def test_pages_follow_the_cursor_and_the_export_verifies(api_client, auditor):
    recorded = [audit_record(actor=None, action="test.paged", data={"i": i}) for i in range(7)]
    api_client.force_authenticate(auditor)
    exported, url, pages = [], f"{URL}?page_size=3", 0
    while url and pages < 10:
        body = api_client.get(url).json()
        exported.extend(body["results"])
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert [event["seq"] for event in exported] == list(range(7, 0, -1))
    result = chain.verify_chain(reversed(exported))
    assert (result.ok, result.count, result.head_hash) == (True, 7, recorded[-1].hash)


def test_filters_are_an_explicit_allowlist(api_client, auditor, events):
    api_client.force_authenticate(auditor)

    def seqs(query: str) -> list[int]:
        response = api_client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [event["seq"] for event in response.json()["results"]]

    group_id = events[0].subjects[0]["id"]
    assert seqs("action=feedback.received") == [2]
    assert seqs("visibility=internal") == [3]
    assert seqs("subject_type=auth.group") == [1]
    assert seqs(f"subject_type=auth.group&subject_id={group_id}") == [1]
    assert seqs("subject_type=auth.group&subject_id=0") == []
    assert seqs("actor_label=alice") == [3, 2, 1]  # not a filter: ignored
    assert api_client.get(f"{URL}?visibility=secret").status_code == 400
    assert api_client.get(f"{URL}?subject_id=1").status_code == 400


def test_the_endpoint_is_in_the_staff_schema_only(api_client, auditor):
    public = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/audit/events/" not in public["paths"]
    api_client.force_authenticate(auditor)
    response = api_client.get("/api/schema/staff/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/audit/events/"]["get"]
    assert operation["operationId"] == "audit_events_list"
    assert {"cursor", "page_size", "action", "subject_type"} <= {
        parameter["name"] for parameter in operation["parameters"]
    }
