"""A clause's history through its lineage: the page and GET specs/{spec}/clauses/{id}/history/,
with the feedback behind each change (only what the viewer may see)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback.models import FeedbackItem, ProposalLink, State, Visibility
from feedback.services import Submission, feedback_submit
from modelspec_site.accounts.roles import TRIAGER
from revisions.models import ChangeProposal, ClauseText, Version
from revisions.services import spec_ensure, version_import

pytestmark = pytest.mark.django_db

V1 = b"# Rules {#rules}\n\n## Be kind {#old}\n\nBe kind to every person you talk to, always.\n"
V2 = b"# Rules {#rules}\n\n## Be kind {#new}\n\nBe kind to every person you talk to, always.\n"
V3 = b"# Rules {#rules}\n\n## Be kind {#new}\n\nBe kind to every person you talk to, today.\n"


@pytest.fixture
def renamed(db):
    """A clause renamed `old` -> `new` in v2 (same text), then edited in v3, all published."""
    spec = spec_ensure(slug="history-spec", title="History")
    for label, data in (("v1", V1), ("v2", V2), ("v3", V3)):
        version_import(spec=spec, label=label, data=data, publish=True)
    return spec


def test_the_history_follows_a_rename_through_the_lineage(client, renamed):
    response = client.get("/api/v1/specs/history-spec/clauses/new/history/")
    assert response.status_code == 200
    history = response.json()
    assert [(e["label"], e["id"], e["change"], e["same_text"]) for e in history] == [
        ("v1", "old", "added", False),
        ("v2", "new", "renamed", True),
        ("v3", "new", "edited", False),
    ]
    # the kinds the stored lineage gives each step
    assert [e["lineage"] for e in history][1:] == ["renamed", "edited"]
    assert history[0]["compare_url"] is None
    assert history[1]["compare_url"] == (
        "http://testserver/api/v1/specs/history-spec/compare/v1/v2/"
    )
    assert history[2]["compare_html_url"] == (
        "http://testserver/specs/history-spec/compare/v2/v3/#clause-new"
    )
    assert history[2]["html_url"] == "http://testserver/specs/history-spec/versions/v3/clauses/new/"
    # the old id finds the same history
    assert client.get("/api/v1/specs/history-spec/clauses/old/history/").json() == history


def test_the_history_page_shows_each_change_with_its_diff_link(client, renamed):
    response = client.get("/specs/history-spec/clauses/new/history/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Renamed from #old to #new." in html
    assert "Edited." in html and "First appears." in html
    assert 'href="/specs/history-spec/compare/v2/v3/#clause-new"' in html
    assert 'href="/specs/history-spec/compare/v1/v2/#clause-new"' in html
    # newest first
    assert (
        html.index('id="history-v3"')
        < html.index('id="history-v2"')
        < html.index('id="history-v1"')
    )
    # and the diff it links to has the clause and its word change
    diff = client.get("/specs/history-spec/compare/v2/v3/").content.decode()
    assert 'id="clause-new"' in diff
    assert "end of removal" in diff and "today" in diff


def test_the_clause_page_links_to_its_history(client, renamed):
    html = client.get("/specs/history-spec/versions/v3/clauses/new/").content.decode()
    assert 'href="/specs/history-spec/clauses/new/history/"' in html


def test_an_unknown_clause_has_no_history(client, renamed):
    assert client.get("/specs/history-spec/clauses/nope/history/").status_code == 404
    assert client.get("/specs/no-such-spec/clauses/new/history/").status_code == 404


def test_both_pieces_of_a_split_go_back_to_the_clause_they_came_from(client):
    spec = spec_ensure(slug="split-spec", title="Split")
    weather = (
        "Share what you know about the weather in the high mountains with care and precision, "
        "naming the passes, the winds that cross them and the storms that close them in winter."
    )
    rivers_text = (
        "Describe the rivers of the green valley and their seasonal floods in plain words, "
        "with the villages they reach, the bridges that survive them and the fields they feed. "
        + weather.replace("mountains", "hills")
    )
    v1 = f"# Nature {{#nature}}\n\n{weather} {rivers_text}\n"
    v2 = f"# Nature {{#nature}}\n\n{weather}\n\n# Rivers {{#rivers}}\n\n{rivers_text}\n"
    version_import(spec=spec, label="v1", data=v1.encode(), publish=True)
    version_import(spec=spec, label="v2", data=v2.encode(), publish=True)
    pieces = ClauseText.objects.filter(version__spec=spec, version__label="v2")
    kinds = {t.anchor: {link.kind for link in t.predecessor_links.all()} for t in pieces}
    assert kinds == {"nature": {"split"}, "rivers": {"split"}}
    # One piece keeps the clause's identity, the other is followed back through the lineage:
    # both histories start with the clause they were split from.
    for anchor in ("rivers", "nature"):
        history = client.get(f"/api/v1/specs/split-spec/clauses/{anchor}/history/").json()
        assert [(e["label"], e["id"], e["lineage"]) for e in history] == [
            ("v1", "nature", None),
            ("v2", anchor, "split"),
        ]
    html = client.get("/specs/split-spec/clauses/rivers/history/").content.decode()
    assert "Split off from #nature." in html


# --- The feedback behind a change ------------------------------------------------------------


def _item(version, summary, visibility, author):
    submission = Submission(
        version=version, clause_id="new", kind="unclear", summary=summary, visibility=visibility
    )
    return feedback_submit(acting_user=author, submission=submission).item


@pytest.fixture
def behind(renamed, make_user):
    """Three items on v1's clause, all answered by the proposal applied in v2: one public, one
    internal, one public but hidden by a moderator; incorporated with a public rationale."""
    staff = make_user("triager", roles=[TRIAGER], is_staff=True)
    v1 = Version.objects.get(spec=renamed, label="v1")
    v2 = Version.objects.get(spec=renamed, label="v2")
    v3 = Version.objects.get(spec=renamed, label="v3")  # open for comments
    public = _item(v3, "Public reason for the rename", Visibility.PUBLIC, None)
    internal = _item(v3, "INTERNAL-CANARY reason", Visibility.INTERNAL, staff)
    hidden = _item(v3, "HIDDEN-CANARY reason", Visibility.PUBLIC, None)
    FeedbackItem.objects.filter(pk=hidden.pk).update(hidden=True, hidden_reason="spam")
    FeedbackItem.objects.filter(pk__in=[public.pk, internal.pk, hidden.pk]).update(
        state=State.INCORPORATED, resolution="Renamed for clarity."
    )
    FeedbackItem.objects.filter(pk=internal.pk).update(resolution="INTERNAL-RATIONALE")
    proposal = ChangeProposal.objects.create(
        spec=renamed,
        operation=ChangeProposal.Operation.EDIT,
        state=ChangeProposal.State.PUBLISHED,
        base_version=v1,
        base_text=ClauseText.objects.get(version=v1, anchor="old"),
        new_anchor="new",
        rationale="Rename.",
        author=staff,
        draft=v2,
        applied_anchor="new",
    )
    for item in (public, internal, hidden):
        ProposalLink.objects.create(item=item, proposal=proposal)
    return {"public": public, "internal": internal, "hidden": hidden}


def test_the_public_sees_only_public_feedback_behind_a_change(client, behind):
    history = client.get("/api/v1/specs/history-spec/clauses/new/history/").json()
    by_label = {e["label"]: e["feedback"] for e in history}
    assert by_label["v1"] == [] and by_label["v3"] == []
    assert by_label["v2"] == [
        {
            "tracking_number": behind["public"].tracking_number,
            "summary": "Public reason for the rename",
            "state": "incorporated",
            "rationale": "Renamed for clarity.",
            "url": f"http://testserver/feedback/{behind['public'].tracking_number}/",
        }
    ]
    html = client.get("/specs/history-spec/clauses/new/history/").content.decode()
    assert "Feedback behind this change" in html
    assert "Public reason for the rename" in html and "Renamed for clarity." in html
    for secret in ("INTERNAL-CANARY", "HIDDEN-CANARY", "INTERNAL-RATIONALE"):
        assert secret not in html
        assert secret not in str(history)
    assert behind["internal"].tracking_number not in html


def test_staff_see_internal_feedback_behind_a_change(staff_client, behind):
    client = staff_client(TRIAGER, username="another")
    history = client.get("/api/v1/specs/history-spec/clauses/new/history/").json()
    numbers = {row["tracking_number"] for row in history[1]["feedback"]}
    assert numbers == {i.tracking_number for i in behind.values()}
    html = client.get("/specs/history-spec/clauses/new/history/").content.decode()
    assert "INTERNAL-CANARY reason" in html


def test_the_hook_answers_with_one_query(django_assert_num_queries, behind):
    from feedback.history_hooks import behind_changes
    from revisions.api.history import clause_lineage_history

    entries = clause_lineage_history(viewer=None, spec_slug="history-spec", anchor="new")
    with django_assert_num_queries(1):
        found = behind_changes(viewer=AnonymousUser(), spec="history-spec", entries=entries)
    assert list(found) == ["v2"]
