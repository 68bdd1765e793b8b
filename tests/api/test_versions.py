"""GET /api/v1/specs/{spec}/versions/{label}/: the version and its clause tree."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from revisions.models import ClauseText
from revisions.services import spec_ensure, version_import

pytestmark = pytest.mark.django_db

LATEST = "/api/v1/specs/model-spec/versions/2025-09-12/"


def _walk(nodes, parent=None):
    for node in nodes:
        yield parent, node
        yield from _walk(node["children"], node)


def test_version_detail_has_the_whole_clause_tree(anonymous, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = anonymous.get(LATEST)
    assert response.status_code == 200
    body = response.json()
    assert body["label"] == "2025-09-12"
    assert body["state"] == "published"
    assert body["parent"] == "2025-04-11"
    assert body["clause_count"] == 77
    assert body["url"] == f"http://testserver{LATEST}"

    clauses = body["clauses"]
    assert [c["id"] for c in clauses][:3] == ["overview", "definitions", "chain_of_command"]
    pairs = list(_walk(clauses))
    assert len(pairs) == 77
    # Reading order (depth first) is the order of the stored positions.
    stored = list(
        ClauseText.objects.filter(version__label="2025-09-12", version__spec__slug="model-spec")
        .order_by("position")
        .values_list("anchor", "parent__anchor")
    )
    assert [(n["id"], p and p["id"]) for p, n in pairs] == stored
    assert sum(n["example_count"] for _, n in pairs) == 173
    for parent, node in pairs:
        assert node["level"] == (parent["level"] + 1 if parent else 1)

    parent, follow = next(
        (p, n) for p, n in pairs if n["id"] == "follow_all_applicable_instructions"
    )
    assert parent["id"] == "chain_of_command"
    assert follow == {
        "id": "follow_all_applicable_instructions",
        "heading": "Follow all applicable instructions",
        "number": "3.1",
        "level": 2,
        "authority": "root",
        "authority_rank": 0,
        "attributes": {},
        "content_hash": ClauseText.objects.get(
            version__label="2025-09-12", anchor="follow_all_applicable_instructions"
        ).content_hash,
        "example_count": 4,
        "url": f"http://testserver{LATEST}clauses/follow_all_applicable_instructions/",
        "children": [],
    }


def test_version_detail_query_count_is_constant_whatever_the_size(anonymous):
    spec = spec_ensure(slug="small-spec")
    version_import(spec=spec, label="v1", data=b"# Only {#only}\n\nOne clause.\n", publish=True)

    def queries(url):
        with CaptureQueriesContext(connection) as ctx:
            assert anonymous.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert queries("/api/v1/specs/small-spec/versions/v1/") == queries(LATEST) == 2


def test_an_older_version_has_its_own_tree(anonymous):
    body = anonymous.get("/api/v1/specs/model-spec/versions/2025-02-12/").json()
    assert body["state"] == "superseded"
    assert body["parent"] is None
    assert len(list(_walk(body["clauses"]))) == body["clause_count"] == 71
    follow = next(
        n for _, n in _walk(body["clauses"]) if n["id"] == "follow_all_applicable_instructions"
    )
    assert follow["authority"] == "platform"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/specs/model-spec/versions/1999-01-01/",
        "/api/v1/specs/no-such-spec/versions/2025-09-12/",
    ],
)
def test_unknown_version_or_spec_is_a_json_404(anonymous, url):
    response = anonymous.get(url)
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
