"""GET /api/v1/specs/ and GET /api/v1/specs/{spec}/versions/."""

import pytest
from django.urls import reverse

from revisions.services import authority_level_set, spec_ensure, version_import

pytestmark = pytest.mark.django_db

SPECS = "/api/v1/specs/"
VERSIONS = "/api/v1/specs/model-spec/versions/"


def test_the_routes_are_where_the_clients_expect_them():
    assert reverse("revisions_api:spec-list") == SPECS
    assert reverse("revisions_api:version-list", args=["model-spec"]) == VERSIONS


def test_spec_list(anonymous, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = anonymous.get(SPECS)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    [spec] = response.json()
    assert spec["slug"] == "model-spec"
    assert spec["title"] == "OpenAI Model Spec"
    assert spec["current_version"] == "2025-09-12"
    assert spec["url"] == f"http://testserver{VERSIONS}"
    assert spec["html_url"] == "http://testserver/specs/model-spec/"
    vocabulary = spec["authority_vocabulary"]
    assert [(w["name"], w["rank"]) for w in vocabulary] == [
        ("platform", 0),
        ("root", 0),
        ("system", 1),
        ("developer", 2),
        ("user", 3),
        ("guideline", 4),
    ]
    assert vocabulary[1]["description"].startswith("Cannot be overridden")


def test_spec_list_query_count_does_not_grow_with_specs(anonymous, django_assert_num_queries):
    for n in range(3):
        spec = spec_ensure(slug=f"extra-{n}", title=f"Extra {n}")
        authority_level_set(spec=spec, name=f"house-{n}", rank=9, acting_user=None)
        version_import(spec=spec, label="v1", data=b"# A {#a}\n\nText.\n", publish=True)
    spec_ensure(slug="unpublished", title="Unpublished")
    with django_assert_num_queries(3):
        body = anonymous.get(SPECS).json()
    by_slug = {spec["slug"]: spec for spec in body}
    assert len(by_slug) == 5
    assert by_slug["extra-1"]["current_version"] == "v1"
    vocabulary = [w["name"] for w in by_slug["extra-1"]["authority_vocabulary"]]
    assert vocabulary[:2] == ["platform", "root"]
    assert vocabulary[-1] == "house-1"
    assert "house-0" not in vocabulary
    assert by_slug["unpublished"]["current_version"] is None
    assert len(by_slug["unpublished"]["authority_vocabulary"]) == 6


def test_version_list_newest_first(anonymous, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = anonymous.get(VERSIONS)
    assert response.status_code == 200
    versions = response.json()
    assert [(v["label"], v["state"], v["parent"]) for v in versions] == [
        ("2025-09-12", "published", "2025-04-11"),
        ("2025-04-11", "superseded", "2025-02-12"),
        ("2025-02-12", "superseded", None),
    ]
    latest, previous = versions[0], versions[1]
    assert latest["spec"] == "model-spec"
    assert latest["clause_count"] == 77
    assert latest["example_count"] == 173
    assert len(latest["source_hash"]) == 64
    assert latest["published_at"] is not None
    assert latest["superseded_at"] is None
    assert previous["superseded_at"] == latest["published_at"]
    assert latest["comment_period"] == {"opens_at": None, "closes_at": None}
    assert latest["url"] == f"http://testserver{VERSIONS}2025-09-12/"
    assert latest["html_url"] == "http://testserver/specs/model-spec/versions/2025-09-12/"
    assert latest["source_url"].endswith("/specs/model-spec/versions/2025-09-12/source.md")


def test_version_list_shows_the_comment_period(anonymous):
    from django.utils import timezone

    from revisions.models import Version

    opens = timezone.now().replace(microsecond=0)
    Version.objects.filter(spec__slug="model-spec", label="2025-09-12").update(
        comment_opens_at=opens, comment_closes_at=opens + timezone.timedelta(days=30)
    )
    latest = anonymous.get(VERSIONS).json()[0]
    assert latest["comment_period"] == {
        "opens_at": opens.isoformat().replace("+00:00", "Z"),
        "closes_at": (opens + timezone.timedelta(days=30)).isoformat().replace("+00:00", "Z"),
    }


def test_version_list_of_an_unknown_spec_is_a_json_404(anonymous):
    response = anonymous.get("/api/v1/specs/no-such-spec/versions/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": "Not found."}
