"""A version's disposition report: the page, its CSV and JSON, and the API agree; internal and
hidden items are never listed for the public, only counted in one withheld total; the change
an item led to and where it was carried are shown; the cost is a constant number of queries."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from feedback.models import FeedbackItem, ProposalLink, Visibility
from feedback.services import feedback_hide
from revisions.models import ChangeProposal, Version
from revisions.services import version_publish
from tests.revisions.test_publishing import CURRENT, SPEC, file_item, make_draft

pytestmark = pytest.mark.django_db


def _urls(label: str = CURRENT) -> dict[str, str]:
    kwargs = {"spec": SPEC, "label": label}
    return {
        "page": reverse("disposition:page", kwargs=kwargs),
        "csv": reverse("disposition:csv", kwargs=kwargs),
        "json": reverse("disposition:json", kwargs=kwargs),
        "api": f"/api/v1/specs/{SPEC}/versions/{label}/disposition/",
    }


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def world(make_user):
    """On the current version: a public item accepted and answered by a change published in a
    new version, an open public item carried to it, an internal item and a hidden one."""
    editor = make_user("disp-editor", roles=["editor"], is_staff=True)
    moderator = make_user("disp-moderator", roles=["moderator"], is_staff=True)
    current = Version.objects.get(spec__slug=SPEC, label=CURRENT)
    accepted = file_item(clause="structure", summary="Reword the overview")
    carried = file_item(clause="letter_and_spirit", summary="Spirit is vague")
    internal = file_item(clause="structure", summary="SECRET internal worry")
    hidden = file_item(clause="overview", summary="SECRET hidden rant")
    FeedbackItem.objects.filter(pk=internal.pk).update(visibility=Visibility.INTERNAL)
    feedback_hide(acting_user=moderator, item=hidden, reason="Abusive")
    FeedbackItem.objects.filter(pk=accepted.pk).update(state="accepted",
                                                       resolution="Good point, reworded.")  # fmt: skip
    draft = make_draft()
    proposal = ChangeProposal.objects.create(
        spec=draft.spec, operation="edit", state=ChangeProposal.State.APPLIED,
        base_version=current, rationale="Reworded", author=editor, draft=draft,
        applied_anchor="structure",
    )  # fmt: skip
    ProposalLink.objects.create(item=accepted, proposal=proposal)
    version_publish(version=draft, acting_user=editor)
    received = FeedbackItem.objects.filter(version=current).count()
    return {"accepted": accepted, "carried": carried, "internal": internal, "hidden": hidden,
            "draft": draft, "received": received}  # fmt: skip


def test_page_csv_json_and_api_agree_and_withhold_internal_and_hidden_items(client, world):
    urls = _urls()
    number = {k: FeedbackItem.objects.get(pk=world[k].pk).tracking_number
              for k in ("accepted", "carried", "internal", "hidden")}  # fmt: skip

    api = client.get(urls["api"])
    assert api.status_code == 200 and api["Content-Type"] == "application/json"
    api_bytes = _body(api)
    document = json.loads(api_bytes)
    assert _body(client.get(urls["json"])) == api_bytes  # the same bytes

    listed = {row["tracking_number"]: row for row in document["items"]}
    assert number["accepted"] in listed and number["carried"] in listed
    assert number["internal"] not in listed and number["hidden"] not in listed
    assert document["received"] == world["received"]
    assert document["withheld"] == 2
    assert document["listed"] == len(listed) == world["received"] - 2

    accepted = listed[number["accepted"]]
    assert accepted["state"] == "incorporated" and accepted["decision"] == "incorporated"
    assert (accepted["change_version"], accepted["change_clause_id"]) == (world["draft"].label,
                                                                         "structure")  # fmt: skip
    assert accepted["change_url"] == reverse(
        "revisions:clause",
        kwargs={"spec": SPEC, "label": world["draft"].label, "clause_id": "structure"},
    )
    carried = listed[number["carried"]]
    assert carried["decision"] == "" and carried["rationale"] == ""
    assert carried["carried_to_version"] == world["draft"].label
    assert carried["carried_to_clause_id"] == "letter_and_spirit"
    assert carried["carried_outcome"] == "anchored"

    csv_response = client.get(urls["csv"])
    assert csv_response["Content-Type"].startswith("text/csv")
    assert csv_response["X-Withheld"] == "2"
    rows = list(csv.DictReader(io.StringIO(_body(csv_response).decode())))
    assert [r["tracking_number"] for r in rows] == [r["tracking_number"] for r in document["items"]]
    assert rows[0].keys() == {k for k in document["items"][0] if k not in ("visibility", "hidden")}

    page = client.get(urls["page"]).content.decode()
    for tracking_number in listed:
        assert tracking_number in page
    assert number["internal"] not in page and number["hidden"] not in page
    assert "SECRET" not in page and b"SECRET" not in api_bytes
    assert "2 are withheld" in page
    assert world["draft"].label in page


def test_staff_see_every_item(staff_client, world):
    document = json.loads(_body(staff_client("triager").get(_urls()["api"])))
    assert document["withheld"] == 0 and document["listed"] == world["received"]
    by_number = {row["tracking_number"]: row for row in document["items"]}
    internal = FeedbackItem.objects.get(pk=world["internal"].pk).tracking_number
    assert by_number[internal]["visibility"] == "internal"


def test_a_draft_report_is_a_404_for_the_public(client, staff_client):
    draft = make_draft("2099-06-06")
    for url in _urls(draft.label).values():
        response = client.get(url)
        assert response.status_code == 404
    api = client.get(_urls("2098-01-01")["api"])
    assert api.status_code == 404 and api.json()["code"] == "not_found"
    assert staff_client("editor").get(_urls(draft.label)["page"]).status_code == 200


def test_the_report_costs_a_constant_number_of_queries(client):
    version = Version.objects.get(spec__slug=SPEC, label=CURRENT)

    def count(url: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            _body(response)
        return len(queries)

    urls = _urls()
    file_item(summary="One")
    before = {name: count(url) for name, url in urls.items()}
    for n in range(12):
        file_item(clause="overview", summary=f"More {n}")
    after = {name: count(url) for name, url in urls.items()}
    assert before == after
    assert max(after.values()) <= 6
    assert FeedbackItem.objects.filter(version=version).count() >= 13


def test_the_api_is_in_the_public_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/specs/{spec}/versions/{label}/disposition/"]["get"]
    assert operation["operationId"] == "version_disposition"
    assert "200" in operation["responses"] and "404" in operation["responses"]
