"""Drafts reach editors and reviewers only, on every endpoint; to anyone else a draft is a
404 indistinguishable from a version that does not exist."""

import pytest

from .conftest import DRAFT_LABEL

pytestmark = pytest.mark.django_db

SPEC = "/api/v1/specs/model-spec"
DRAFT = f"{SPEC}/versions/{DRAFT_LABEL}/"


def test_anonymous_never_sees_a_draft(anonymous, draft):
    body = anonymous.get("/api/v1/specs/").content.decode()
    assert DRAFT_LABEL not in body
    assert anonymous.get("/api/v1/specs/").json()[0]["current_version"] == "2025-09-12"

    labels = [v["label"] for v in anonymous.get(f"{SPEC}/versions/").json()]
    assert labels == ["2025-09-12", "2025-04-11", "2025-02-12"]

    for url in (
        DRAFT,
        f"{DRAFT}clauses/x/",
        f"{DRAFT}clauses/overview/",
        f"{SPEC}/clauses/x/history/",
    ):
        response = anonymous.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"code": "not_found", "detail": "Not found."}

    overview = anonymous.get(f"{SPEC}/versions/2025-09-12/clauses/overview/").json()
    assert DRAFT_LABEL not in [v["label"] for v in overview["versions"]]
    history = anonymous.get(f"{SPEC}/clauses/overview/history/").json()
    assert [e["label"] for e in history] == ["2025-02-12", "2025-04-11", "2025-09-12"]


def test_a_hidden_draft_answers_exactly_like_a_missing_version(anonymous, draft):
    hidden = anonymous.get(DRAFT)
    missing = anonymous.get(f"{SPEC}/versions/2099-12-31/")
    assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content)


@pytest.mark.parametrize("role", ["editor", "reviewer"])
def test_editors_and_reviewers_see_drafts_everywhere(staff_client, draft, role):
    client = staff_client(role)
    versions = client.get(f"{SPEC}/versions/").json()
    newest = versions[0]
    assert (newest["label"], newest["state"], newest["parent"]) == (
        DRAFT_LABEL,
        "draft",
        "2025-09-12",
    )
    assert newest["published_at"] is None

    # The spec's current version is still the published one.
    assert client.get("/api/v1/specs/").json()[0]["current_version"] == "2025-09-12"

    detail = client.get(DRAFT).json()
    assert detail["state"] == "draft"
    assert [(c["id"], c["children"]) for c in detail["clauses"]] == [("x", []), ("overview", [])]

    x = client.get(f"{DRAFT}clauses/x/").json()
    assert x["body_markdown"].strip() == "Draft."
    assert [(v["label"], v["same_text"]) for v in x["versions"]] == [(DRAFT_LABEL, True)]

    overview = client.get(f"{SPEC}/versions/2025-09-12/clauses/overview/").json()
    newest = overview["versions"][0]
    assert (newest["label"], newest["state"], newest["same_text"]) == (DRAFT_LABEL, "draft", False)

    history = client.get(f"{SPEC}/clauses/overview/history/").json()
    assert [(e["label"], e["state"], e["change"]) for e in history][-1] == (
        DRAFT_LABEL,
        "draft",
        "edited",
    )
    assert [(e["label"], e["change"]) for e in client.get(f"{SPEC}/clauses/x/history/").json()] == [
        (DRAFT_LABEL, "added")
    ]


def test_other_staff_do_not_see_drafts(staff_client, draft):
    client = staff_client("triager")
    assert DRAFT_LABEL not in [v["label"] for v in client.get(f"{SPEC}/versions/").json()]
    assert client.get(DRAFT).status_code == 404
    assert client.get(f"{SPEC}/clauses/x/history/").status_code == 404


def test_signed_in_query_counts_stay_constant(staff_client, draft, django_assert_max_num_queries):
    """A signed-in editor costs the session, the user and the roles on top of the reads."""
    client = staff_client("editor")
    for url, reads in [
        ("/api/v1/specs/", 3),
        (f"{SPEC}/versions/", 2),
        (f"{SPEC}/versions/2025-09-12/", 2),
        (f"{SPEC}/versions/2025-09-12/clauses/follow_all_applicable_instructions/", 4),
        (f"{SPEC}/clauses/follow_all_applicable_instructions/history/", 2),
    ]:
        with django_assert_max_num_queries(reads + 3):
            assert client.get(url).status_code == 200, url
