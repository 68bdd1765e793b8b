"""Comparing two versions: revisions.compare, the compare pages and GET specs/{spec}/compare/…"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from modelspec_site.accounts.roles import EDITOR
from revisions.compare import (
    ALGORITHM_REVISION,
    KINDS,
    compare_versions,
    comparison_json,
    comparison_key,
)
from revisions.diffing import DELETE, INSERT
from revisions.models import ClauseText, Comparison, LineageLink, Version
from revisions.services import spec_ensure, version_import

pytestmark = pytest.mark.django_db

SPEC = "model-spec"
API = "/api/v1/specs/model-spec/compare"
PAGE = "/specs/model-spec/compare"
OLDEST, OLDER, LATEST = "2025-02-12", "2025-04-11", "2025-09-12"


def _v(label, spec=SPEC):
    return Version.objects.select_related("spec").get(spec__slug=spec, label=label)


def _texts(label):
    return {
        t.anchor: t
        for t in ClauseText.objects.filter(version__spec__slug=SPEC, version__label=label)
    }


def _by(data, *, old=None, new=None):
    return [
        e
        for e in data["clauses"]
        if (old is None or (e["old"] and e["old"]["id"] == old))
        and (new is None or (e["new"] and e["new"]["id"] == new))
    ]


def _check_complete(data, older, newer):
    """Every clause of both versions is in the comparison; the counts add up; each diff
    rebuilds the two plain texts."""
    olds, news = _texts(older), _texts(newer)
    assert {e["old"]["id"] for e in data["clauses"] if e["old"]} == set(olds)
    assert {e["new"]["id"] for e in data["clauses"] if e["new"]} == set(news)
    assert sum(data["summary"].values()) == len(data["clauses"])
    assert set(data["summary"]) == set(KINDS)
    for entry in data["clauses"]:
        if entry["kind"] == "added":
            assert entry["old"] is None
        if entry["kind"] == "removed":
            assert entry["new"] is None
        if entry["kind"] == "unchanged":
            assert entry["body_diff"] is None and entry["heading_diff"] is None
        if entry["body_diff"] is not None:
            ops = entry["body_diff"]
            old_text = "".join(t for op, t in ops if op != INSERT)
            new_text = "".join(t for op, t in ops if op != DELETE)
            assert old_text == olds[entry["old"]["id"]].plain_text
            assert new_text == news[entry["new"]["id"]].plain_text


def test_kinds_from_2025_04_11_to_2025_09_12():
    data = compare_versions(_v(OLDER), _v(LATEST))
    assert data["from"] == {"label": OLDER, "state": "superseded"}
    assert data["to"] == {"label": LATEST, "state": "published"}
    assert data["algorithm"] == ALGORITHM_REVISION
    # Adjacent published versions: the lineage stored at publish is used when there is one.
    stored = LineageLink.objects.filter(version__label=LATEST, version__spec__slug=SPEC).exists()
    assert data["lineage"] == ("stored" if stored else "computed")
    _check_complete(data, OLDER, LATEST)

    # The chain of command's top level is renamed platform -> root: same rank, so the word
    # changes but it is no authority change.
    (follow,) = _by(data, new="follow_all_applicable_instructions")
    assert follow["kind"] == "edited"
    assert (follow["old"]["authority"], follow["new"]["authority"]) == ("platform", "root")
    assert follow["authority_changed"] is False
    # A renamed id is told apart from a removal and an addition.
    (privileged,) = _by(data, old="protect_privileged_messages")
    assert privileged["kind"] == "renamed"
    assert privileged["new"]["id"] == "protect_privileged_information"
    assert not _by(data, new="protect_privileged_messages")
    # A section split into several: every piece of be_engaging is a split, none a removal.
    pieces = _by(data, old="be_engaging")
    assert len(pieces) >= 2 and {e["kind"] for e in pieces} <= {"split", "renamed", "edited"}
    assert any(e["kind"] == "split" for e in pieces)
    # Real additions stay additions.
    (red_lines,) = _by(data, new="red_line_principles")
    assert red_lines["kind"] == "added" and red_lines["old"] is None
    # Authority changes are flagged only where the rank changed.
    for entry in data["clauses"]:
        if entry["authority_changed"]:
            assert entry["old"]["authority_rank"] != entry["new"]["authority_rank"]
    assert data["authority_changes"] == sum(e["authority_changed"] for e in data["clauses"])
    # Examples: counted per kind, and each attributed to a clause entry.
    counts = data["examples"]
    assert counts["added"] > 0 and counts["changed"] > 0
    for kind in ("added", "removed", "relabelled", "changed"):
        assert sum(len(e["examples"][kind]) for e in data["clauses"]) == counts[kind]


def test_kinds_from_2025_02_12_to_2025_09_12_are_computed():
    data = compare_versions(_v(OLDEST), _v(LATEST))
    assert data["lineage"] == "computed"  # not adjacent: matched now, not read from storage
    _check_complete(data, OLDEST, LATEST)
    (privileged,) = _by(data, old="protect_privileged_messages")
    assert privileged["kind"] == "renamed"
    assert any(e["kind"] == "split" for e in _by(data, old="be_engaging"))
    assert data["summary"]["edited"] > 0


def test_a_version_compared_with_itself_has_no_changes():
    data = compare_versions(_v(OLDER), _v(OLDER))
    assert data["summary"]["unchanged"] == len(data["clauses"]) == len(_texts(OLDER))
    assert data["examples"] == {"added": 0, "removed": 0, "relabelled": 0, "changed": 0}


EXAMPLE = """# Rules {{#rules}}

Be nice to people.

**Example**: asking for a joke

~~~xml
<user>
Tell me a joke.
</user>
<comparison>
<assistant> <!-- {first} -->
Why did the chicken cross the road?
</assistant>
<assistant> <!-- {second} -->
No.
</assistant>
</comparison>
~~~
{extra}
"""

EXTRA = """
**Example**: {title}

~~~xml
<user>
Hello.
</user>
<assistant> <!-- GOOD -->
Hi.
</assistant>
~~~
"""


def _small_spec(first, second, *, extra_v1="", extra_v2="", body_v2="Be kind to people."):
    spec = spec_ensure(slug="labels-spec", title="Labels")
    v1 = EXAMPLE.format(first="GOOD", second="BAD", extra=extra_v1)
    v2 = EXAMPLE.format(first=first, second=second, extra=extra_v2).replace(
        "Be nice to people.", body_v2
    )
    version_import(spec=spec, label="v1", data=v1.encode(), publish=True)
    version_import(spec=spec, label="v2", data=v2.encode(), publish=True)
    return compare_versions(_v("v1", "labels-spec"), _v("v2", "labels-spec"))


def test_a_relabelled_example_is_reported_with_the_answer_that_changed():
    data = _small_spec(
        "GOOD",
        "OK",
        extra_v1=EXTRA.format(title="an old one"),
        extra_v2=EXTRA.format(title="a new one"),
    )
    (entry,) = data["clauses"]
    assert entry["kind"] == "edited"
    assert entry["body_diff"][:3] == [["equal", "Be "], ["delete", "nice "], ["insert", "kind "]]
    assert entry["words"] == {"removed": 1, "added": 1}
    assert entry["examples"]["relabelled"] == [
        {"title": "asking for a joke", "labels": [{"answer": 2, "from": "BAD", "to": "OK"}]}
    ]
    assert entry["examples"]["added"] == [{"title": "a new one"}]
    assert entry["examples"]["removed"] == [{"title": "an old one"}]
    assert data["examples"] == {"added": 1, "removed": 1, "relabelled": 1, "changed": 0}


def test_an_answer_removed_is_no_relabel():
    spec = spec_ensure(slug="labels-spec", title="Labels")
    v1 = EXAMPLE.format(first="GOOD", second="BAD", extra="")
    v2 = v1.replace(
        "<assistant> <!-- GOOD -->\nWhy did the chicken cross the road?\n</assistant>\n", ""
    )
    version_import(spec=spec, label="v1", data=v1.encode(), publish=True)
    version_import(spec=spec, label="v2", data=v2.encode(), publish=True)
    data = compare_versions(_v("v1", "labels-spec"), _v("v2", "labels-spec"))
    assert data["examples"] == {"added": 0, "removed": 0, "relabelled": 0, "changed": 1}


def test_stored_lineage_is_what_the_comparison_shows():
    """For adjacent published versions the stored links (with an editor's corrections) are
    used, not a fresh computation."""
    _small_spec("GOOD", "BAD")
    v2 = _v("v2", "labels-spec")
    if not LineageLink.objects.filter(version=v2).exists():
        from revisions.lineage_store import lineage_refresh

        lineage_refresh(v2)
    LineageLink.objects.filter(version=v2).update(kind="moved", by_editor=True)
    data = compare_versions(_v("v1", "labels-spec"), v2)
    assert data["lineage"] == "stored"
    assert [(e["kind"], e["by_editor"]) for e in data["clauses"]] == [("moved", True)]


# --- Cache -----------------------------------------------------------------------------------


def test_published_comparisons_are_stored_once_and_served_from_storage():
    older, newer = _v(OLDER), _v(LATEST)
    key = comparison_key(older, newer)
    assert key == f"{older.pk}:{newer.pk}:v{ALGORITHM_REVISION}"
    assert not Comparison.objects.filter(key=key).exists()
    cold = comparison_json(older, newer)
    assert Comparison.objects.get(key=key).body == cold
    assert json.loads(cold) == compare_versions(older, newer)
    with CaptureQueriesContext(connection) as queries:
        assert comparison_json(older, newer) == cold
    assert len(queries) == 1
    # What is served is the stored text itself: nothing is recomputed.
    Comparison.objects.filter(key=key).update(body='{"stored": true}')
    assert comparison_json(older, newer) == '{"stored": true}'


def test_the_api_serves_the_stored_bytes_with_a_constant_number_of_queries(
    client, django_assert_num_queries
):
    cold = client.get(f"{API}/{OLDER}/{LATEST}/")
    assert cold.status_code == 200
    assert cold["Content-Type"] == "application/json"
    body = cold.json()
    assert body["from"]["label"] == OLDER and body["to"]["label"] == LATEST
    client.get(f"{API}/{OLDEST}/{LATEST}/")
    with django_assert_num_queries(1):  # the stored comparison, found by the labels
        cached = client.get(f"{API}/{OLDER}/{LATEST}/")
    assert cached.content == cold.content
    with django_assert_num_queries(1):
        client.get(f"{API}/{OLDEST}/{LATEST}/")
    assert Comparison.objects.count() == 2


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (f"{API}/1999-01-01/{LATEST}/", "unknown_version"),
        (f"{API}/{OLDER}/1999-01-01/", "unknown_version"),
        (f"/api/v1/specs/no-such-spec/compare/{OLDER}/{LATEST}/", "not_found"),
    ],
)
def test_unknown_versions_have_stable_error_codes(client, url, code):
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["code"] == code


# --- Drafts ----------------------------------------------------------------------------------


@pytest.fixture
def draft(bundled_source):
    spec = spec_ensure(slug=SPEC)
    source = bundled_source(LATEST).replace(
        b"The assistant must strive to follow all", b"The assistant must always follow all", 1
    )
    return version_import(spec=spec, label="2099-01-01", data=source).version


def test_drafts_are_404_for_the_public(client, draft):
    api = client.get(f"{API}/{LATEST}/{draft.label}/")
    assert api.status_code == 404 and api.json()["code"] == "unknown_version"
    assert client.get(f"{PAGE}/{LATEST}/{draft.label}/").status_code == 404
    assert client.get(f"{PAGE}/{draft.label}/{LATEST}/").status_code == 404
    # nor offered in the form
    assert draft.label not in client.get(f"{PAGE}/").content.decode()


def test_editors_compare_a_draft_with_its_parent_uncached(staff_client, draft):
    client = staff_client(EDITOR)
    response = client.get(f"{API}/{LATEST}/{draft.label}/")
    assert response.status_code == 200
    data = response.json()
    assert data["to"] == {"label": draft.label, "state": "draft"}
    (follow,) = _by(data, new="follow_all_applicable_instructions")
    assert follow["kind"] == "edited"
    assert ["delete", "strive to "] in follow["body_diff"]
    assert ["insert", "always "] in follow["body_diff"]
    assert data["summary"]["edited"] == 1
    assert not Comparison.objects.filter(to_version=draft).exists()
    page = client.get(f"{PAGE}/{LATEST}/{draft.label}/")
    assert page.status_code == 200
    assert "computed afresh" in page.content.decode()
    assert not Comparison.objects.exists()


# --- Pages -----------------------------------------------------------------------------------


def test_the_choice_form_works_without_javascript(client):
    page = client.get(f"{PAGE}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<label for="id_from_label">' in html and '<label for="id_to_label">' in html
    assert f'<option value="{OLDER}" selected>' in html  # the published version's parent
    response = client.get(f"{PAGE}/", {"from_label": OLDEST, "to_label": LATEST})
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}/{OLDEST}/{LATEST}/"
    bad = client.get(f"{PAGE}/", {"from_label": "1999-01-01", "to_label": LATEST})
    assert bad.status_code == 400
    assert "errorlist" in bad.content.decode()


def test_the_compare_page_groups_clauses_and_shows_word_changes(client):
    response = client.get(f"{PAGE}/{OLDER}/{LATEST}/")
    assert response.status_code == 200
    html = response.content.decode()
    data = json.loads(Comparison.objects.get().body)
    for kind, count in data["summary"].items():
        if count:
            assert f'id="group-{kind}-heading"' in html
            assert f"({count})" in html
    assert 'id="clause-follow_all_applicable_instructions"' in html
    assert 'id="clause-protect_privileged_information"' in html
    assert '<del class="diff-del"><span class="visually-hidden">[removed: </span>' in html
    assert '<ins class="diff-ins"><span class="visually-hidden">[added: </span>' in html
    assert "Authority renamed (same level):" in html
    assert 'aria-current="page">Inline changes' in html
    side = client.get(f"{PAGE}/{OLDER}/{LATEST}/", {"view": "side"}).content.decode()
    assert '<th scope="col">Before</th><th scope="col">After</th>' in side
    assert 'aria-current="page">Side by side' in side
    # an unknown view falls back to inline instead of failing
    assert client.get(f"{PAGE}/{OLDER}/{LATEST}/", {"view": "<x>"}).status_code == 200


def test_the_page_escapes_spec_text(client):
    spec = spec_ensure(slug="escape-spec", title="Escape")
    version_import(spec=spec, label="v1", data=b"# A {#a}\n\nSay `<b>` now.\n", publish=True)
    version_import(
        spec=spec, label="v2", data=b"# A {#a}\n\nSay `<script>alert(1)</script>` now.\n",
        publish=True,
    )  # fmt: skip
    html = client.get("/specs/escape-spec/compare/v1/v2/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "script&gt;alert(1)&lt;/script" in html


def test_the_documented_example_has_the_live_shape(client):
    from revisions.api.schema_examples import COMPARISON

    live = client.get(f"{API}/{OLDER}/{LATEST}/").json()
    assert set(COMPARISON) == set(live)
    assert set(COMPARISON["clauses"][0]) == set(live["clauses"][0])
    assert set(COMPARISON["summary"]) == set(live["summary"])
    assert set(COMPARISON["examples"]) == set(live["examples"])
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/specs/{spec}/compare/{from_label}/{to_label}/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert "404" in operation["responses"]
