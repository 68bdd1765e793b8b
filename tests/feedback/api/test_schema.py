"""The OpenAPI schema describes the feedback endpoints with examples, every refusal, and no
private field in any response."""

import pytest
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_feedback_operations_are_described(schema):
    validate_schema(schema)
    paths = schema["paths"]
    assert set(paths["/api/v1/feedback/"]) == {"get", "post"}
    assert set(paths["/api/v1/feedback/{tracking_number}/"]) == {"get"}
    assert set(paths["/api/v1/feedback/{tracking_number}/endorse/"]) == {"post"}

    create = paths["/api/v1/feedback/"]["post"]
    assert set(create["responses"]) == {"201", "400", "403", "413", "415", "422", "429"}
    assert create["requestBody"]["content"]["application/json"]["examples"]
    assert create["responses"]["201"]["content"]["application/json"]["examples"]
    headers = {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert headers == {"Idempotency-Key"}
    assert "Retry-After" in create["responses"]["429"]["headers"]
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]

    listing = paths["/api/v1/feedback/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert names == {
        "spec", "version", "clause", "kind", "state", "authority", "has_passage", "q",
        "ordering", "cursor", "page_size",
    }  # fmt: skip
    assert set(listing["responses"]) == {"200", "400"}
    detail = paths["/api/v1/feedback/{tracking_number}/"]["get"]
    assert set(detail["responses"]) == {"200", "404"}
    endorse = paths["/api/v1/feedback/{tracking_number}/endorse/"]["post"]
    assert set(endorse["responses"]) == {"201", "404", "409", "429"}
    assert "requestBody" not in endorse


def test_the_request_schema_accepts_only_the_submitters_fields(schema):
    components = schema["components"]["schemas"]
    request = components["FeedbackSubmit"]
    assert request["required"] == ["clause", "kind", "spec", "summary", "version"]
    assert set(request["properties"]) == {
        "spec", "version", "clause", "example", "quote", "kind", "severity", "summary", "body",
        "suggested_text", "example_conversation", "affiliation", "conflict_of_interest",
        "submitter_name", "submitter_email", "visibility",
    }  # fmt: skip
    assert request["properties"]["summary"]["maxLength"] == 200
    assert request["properties"]["example_conversation"]["maxItems"] == 40


def test_no_response_component_has_a_private_field(schema):
    components = schema["components"]["schemas"]
    private = {"submitter_email", "follow_token_hash", "report_count", "submitter", "ip"}
    for name in ("FeedbackItem", "FeedbackPage", "FeedbackCreated", "FeedbackEndorsement"):
        assert not private & set(components[name]["properties"]), name
    item = components["FeedbackItem"]["properties"]
    assert item["summary"]["nullable"] is True
    assert "visibility" not in components["FeedbackItem"]["required"]
