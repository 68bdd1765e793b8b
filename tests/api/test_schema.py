"""The OpenAPI schema describes every reading endpoint, typed and without warnings; the
endpoints refuse writes with JSON."""

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/v1/specs/",
    "/api/v1/specs/{spec}/versions/",
    "/api/v1/specs/{spec}/versions/{label}/",
    "/api/v1/specs/{spec}/versions/{label}/clauses/{clause_id}/",
    "/api/v1/specs/{spec}/clauses/{clause_id}/history/",
    "/api/v1/specs/{spec}/compare/{from_label}/{to_label}/",
]
URLS = [
    "/api/v1/specs/",
    "/api/v1/specs/model-spec/versions/",
    "/api/v1/specs/model-spec/versions/2025-09-12/",
    "/api/v1/specs/model-spec/versions/2025-09-12/clauses/overview/",
    "/api/v1/specs/model-spec/clauses/overview/history/",
    "/api/v1/specs/model-spec/compare/2025-04-11/2025-09-12/",
]


def _response_schema(schema, path, code="200"):
    return schema["paths"][path]["get"]["responses"][code]["content"]["application/json"]


def _enum(components, prop):
    """The values of an enum property, which drf-spectacular moves into a component."""
    ref = prop["$ref"] if "$ref" in prop else prop["allOf"][0]["$ref"]
    return components[ref.rsplit("/", 1)[1]]["enum"]


def test_the_served_schema_has_every_path(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    for path_ in PATHS:
        assert set(schema["paths"][path_]) == {"get"}, path_
        operation = schema["paths"][path_]["get"]
        assert operation["description"]
        assert operation["responses"]["200"]["content"]["application/json"]["examples"]
        if "{" in path_:
            assert "404" in operation["responses"]
            for parameter in operation["parameters"]:
                assert parameter["description"]


def test_the_schema_is_typed(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    assert _response_schema(schema, "/api/v1/specs/")["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Spec"},
    }
    node = components["ClauseNode"]["properties"]
    assert node["children"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ClauseNode"},
    }
    assert node["url"]["format"] == "uri"
    assert node["authority_rank"] == {"type": "integer", "nullable": True}
    assert _enum(components, components["ClauseHistoryEntry"]["properties"]["change"]) == [
        "added",
        "unchanged",
        "edited",
        "renamed",
    ]
    assert _enum(components, components["Version"]["properties"]["state"]) == [
        "draft",
        "published",
        "superseded",
    ]
    assert components["Spec"]["properties"]["current_version"]["nullable"] is True
    turn = components["ExampleTurn"]["properties"]
    assert set(turn) == {
        "role",
        "attributes",
        "content",
        "content_html",
        "candidate",
        "label",
        "label_note",
        "label_clause",
    }
    assert components["Error"]["required"] == ["code", "detail"]


def test_the_examples_match_the_live_responses(client):
    """Every documented example has exactly the keys a real response has, nested included."""
    schema = client.get("/api/schema/?format=json").json()

    def shape(value):
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items() if k not in {"attributes"}}
        if isinstance(value, list):
            return [shape(value[0])] if value else []
        return None

    for path_, url in zip(PATHS, URLS, strict=True):
        live = client.get(url).json()
        for example in _response_schema(schema, path_)["examples"].values():
            documented = example["value"]
            if isinstance(live, list):
                documented, live_item = documented[0], live[0]
            else:
                live_item = live
            assert set(shape(documented)) == set(shape(live_item)), path_


def test_generating_the_schema_raises_no_warnings():
    """`manage.py spectacular --fail-on-warn` for these endpoints alone."""
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("revisions.api.urls"))])
    schema = generator.get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache
    assert len(schema["paths"]) == len(PATHS)


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_are_refused_with_json(client, url, method):
    response = getattr(client, method)(url, data={}, content_type="application/json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("url", URLS)
def test_head_is_answered_like_get(client, url):
    response = client.head(url)
    assert response.status_code == 200
    assert response.content == b""
