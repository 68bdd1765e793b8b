"""GET …/versions/{label}/clauses/{clause_id}/ and GET …/clauses/{clause_id}/history/."""

import pytest
from django.urls import reverse

from revisions.models import Clause, ClauseText
from revisions.services import spec_ensure, version_import

pytestmark = pytest.mark.django_db

SPEC = "/api/v1/specs/model-spec"
FOLLOW = "follow_all_applicable_instructions"
LATEST_FOLLOW = f"{SPEC}/versions/2025-09-12/clauses/{FOLLOW}/"


def _hash(label, anchor=FOLLOW):
    return ClauseText.objects.get(
        version__spec__slug="model-spec", version__label=label, anchor=anchor
    ).content_hash


def test_the_routes_are_where_the_clients_expect_them():
    assert reverse("revisions_api:clause-detail", args=["model-spec", "2025-09-12", FOLLOW]) == (
        LATEST_FOLLOW
    )
    assert reverse("revisions_api:clause-history", args=["model-spec", FOLLOW]) == (
        f"{SPEC}/clauses/{FOLLOW}/history/"
    )


def test_clause_detail(anonymous, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = anonymous.get(LATEST_FOLLOW)
    assert response.status_code == 200
    body = response.json()
    assert body["spec"] == "model-spec"
    assert body["version"] == "2025-09-12"
    assert body["id"] == FOLLOW
    assert body["heading"] == "Follow all applicable instructions"
    assert body["number"] == "3.1"
    assert body["level"] == 2
    assert body["parent"] == "chain_of_command"
    assert body["authority"] == "root"
    assert body["authority_rank"] == 0
    assert body["content_hash"] == _hash("2025-09-12")
    assert body["body_markdown"].startswith("The assistant must strive to follow all")
    assert "<em>applicable instructions</em>" in body["body_html"]
    assert "*" not in body["plain_text"].split("\n")[0]
    assert body["footnotes"][:2] == ["m12p", "d32l"]

    assert len(body["examples"]) == 4
    first = body["examples"][0]
    assert first["title"] == (
        "root/developer conflict: request that goes against the [?](#respect_creators) section "
        "of the Model Spec"
    )
    assert first["slug"].startswith("rootdeveloper-conflict")
    assert [t["role"] for t in first["turns"]] == ["developer", "user", "assistant", "assistant"]
    assert [t["label"] for t in first["turns"]] == [None, None, "BAD", "GOOD"]
    assert first["turns"][3]["candidate"] is True
    assert "The Tale of the Four Clever Bunnies" in first["turns"][1]["content"]

    assert [(v["label"], v["state"], v["id"], v["same_text"]) for v in body["versions"]] == [
        ("2025-09-12", "published", FOLLOW, True),
        ("2025-04-11", "superseded", FOLLOW, False),
        ("2025-02-12", "superseded", FOLLOW, False),
    ]
    assert body["versions"][2]["url"] == (
        f"http://testserver{SPEC}/versions/2025-02-12/clauses/{FOLLOW}/"
    )
    assert body["url"] == f"http://testserver{LATEST_FOLLOW}"
    assert (
        body["html_url"]
        == f"http://testserver/specs/model-spec/versions/2025-09-12/clauses/{FOLLOW}/"
    )
    assert body["history_url"] == f"http://testserver{SPEC}/clauses/{FOLLOW}/history/"


def test_an_unchanged_clause_has_the_same_text_in_the_earlier_version(anonymous):
    body = anonymous.get(f"{SPEC}/versions/2025-04-11/clauses/{FOLLOW}/").json()
    assert body["authority"] == "platform"
    assert body["parent"] == "chain_of_command"
    assert {v["label"]: v["same_text"] for v in body["versions"]} == {
        "2025-09-12": False,
        "2025-04-11": True,
        "2025-02-12": True,
    }


def test_a_top_level_clause_has_no_parent(anonymous):
    body = anonymous.get(f"{SPEC}/versions/2025-09-12/clauses/overview/").json()
    assert body["parent"] is None
    assert body["examples"] == []


@pytest.mark.parametrize(
    "url",
    [
        f"{SPEC}/versions/2025-09-12/clauses/no_such_clause/",
        f"{SPEC}/versions/1999-01-01/clauses/{FOLLOW}/",
        f"/api/v1/specs/no-such-spec/versions/2025-09-12/clauses/{FOLLOW}/",
        f"{SPEC}/clauses/no_such_clause/history/",
        f"/api/v1/specs/no-such-spec/clauses/{FOLLOW}/history/",
    ],
)
def test_unknown_spec_version_or_clause_is_a_json_404(anonymous, url):
    response = anonymous.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_history_follows_the_clause_across_versions(anonymous, django_assert_max_num_queries):
    # The texts through their lineage, and the feedback behind each change (feedback's hook).
    with django_assert_max_num_queries(2):
        response = anonymous.get(f"{SPEC}/clauses/{FOLLOW}/history/")
    assert response.status_code == 200
    history = response.json()
    assert [
        (e["label"], e["state"], e["id"], e["authority"], e["change"], e["same_text"])
        for e in history
    ] == [
        ("2025-02-12", "superseded", FOLLOW, "platform", "added", False),
        ("2025-04-11", "superseded", FOLLOW, "platform", "unchanged", True),
        ("2025-09-12", "published", FOLLOW, "root", "edited", False),
    ]
    assert [e["content_hash"] for e in history] == [
        _hash("2025-02-12"),
        _hash("2025-04-11"),
        _hash("2025-09-12"),
    ]
    assert history[0]["heading"] == "Follow all applicable instructions"
    assert history[0]["number"] == "3.1"
    assert history[0]["authority_rank"] == 0
    assert history[0]["url"] == f"http://testserver{SPEC}/versions/2025-02-12/clauses/{FOLLOW}/"


def test_history_of_a_clause_new_in_the_latest_version(anonymous):
    new_anchors = set(
        ClauseText.objects.filter(version__label="2025-09-12").values_list("anchor", flat=True)
    ) - set(ClauseText.objects.filter(version__label="2025-04-11").values_list("anchor", flat=True))
    # A new id can be a piece of a split clause (be_curious, from be_engaging), whose history
    # starts with its predecessor; red_line_principles is really new.
    assert "red_line_principles" in new_anchors
    anchor = "red_line_principles"
    history = anonymous.get(f"{SPEC}/clauses/{anchor}/history/").json()
    assert [(e["label"], e["change"]) for e in history] == [("2025-09-12", "added")]


@pytest.fixture
def renamed_spec(db):
    """A clause whose id changed from `old` to `new` between v1 and v2 (as re-anchoring on
    publication records it: the v2 text points at the clause v1 created), and whose text
    changed again in v3."""
    spec = spec_ensure(slug="renamed-spec")
    v1 = version_import(spec=spec, label="v1", data=b"# A {#old}\n\nText.\n", publish=True)
    v2 = version_import(spec=spec, label="v2", data=b"# A {#new}\n\nText.\n", publish=True)
    version_import(spec=spec, label="v3", data=b"# A {#new}\n\nNew text.\n", publish=True)
    old = v1.version.clause_texts.get().clause
    v2.version.clause_texts.update(clause=old)
    ClauseText.objects.filter(version__spec=spec, version__label="v3").update(clause=old)
    return spec


@pytest.mark.parametrize("clause_id", ["new", "old"])
def test_history_reports_a_rename(anonymous, renamed_spec, clause_id):
    history = anonymous.get(f"/api/v1/specs/renamed-spec/clauses/{clause_id}/history/").json()
    assert [(e["label"], e["id"], e["change"], e["same_text"]) for e in history] == [
        ("v1", "old", "added", False),
        ("v2", "new", "renamed", True),
        ("v3", "new", "edited", False),
    ]


def test_clause_detail_lists_the_versions_under_their_own_ids(anonymous, renamed_spec):
    body = anonymous.get("/api/v1/specs/renamed-spec/versions/v3/clauses/new/").json()
    assert [(v["label"], v["id"], v["same_text"]) for v in body["versions"]] == [
        ("v3", "new", True),
        ("v2", "new", False),
        ("v1", "old", False),
    ]
    assert body["versions"][2]["url"].endswith("/renamed-spec/versions/v1/clauses/old/")


def test_history_picks_the_clause_by_its_id_in_the_newest_version(anonymous):
    """`a` is one clause in v1 and v2, renamed to `b` in v3; v3 introduces a different clause
    under the old id `a`. Asking for `a` follows the newest: the clause that is `a` in v3."""
    spec = spec_ensure(slug="reused-spec")
    version_import(spec=spec, label="v1", data=b"# A {#a}\n\nOne.\n", publish=True)
    v3 = version_import(
        spec=spec, label="v3", data=b"# B {#b}\n\nOne.\n\n# C {#a}\n\nOther.\n", publish=True
    ).version
    first = ClauseText.objects.get(version__label="v1", version__spec=spec).clause
    renamed, reused = v3.clause_texts.order_by("position")
    # As re-anchoring would have recorded it: `b` continues v1's `a`; v3's `a` is a new clause.
    ClauseText.objects.filter(pk=reused.pk).update(
        clause=Clause.objects.create(spec=spec, key="a-2")
    )
    ClauseText.objects.filter(pk=renamed.pk).update(clause=first)

    history_a = anonymous.get("/api/v1/specs/reused-spec/clauses/a/history/").json()
    assert [(e["label"], e["id"], e["change"]) for e in history_a] == [("v3", "a", "added")]
    history_b = anonymous.get("/api/v1/specs/reused-spec/clauses/b/history/").json()
    assert [(e["label"], e["id"], e["change"]) for e in history_b] == [
        ("v1", "a", "added"),
        ("v3", "b", "renamed"),
    ]
