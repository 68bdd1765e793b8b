"""The editors' pages: proposals and the draft builder, by role; forms without JavaScript
(POST + redirect) and the htmx apply; refusals with their status."""

import io

import pytest
from django.test import Client

from revisions.drafts import draft_start
from revisions.models import ChangeProposal, ClauseText, Spec, Version
from revisions.proposals import proposal_create
from tests.conftest import sign_in_two_factor

pytestmark = pytest.mark.django_db

GUIDELINE = "no_topic_off_limits"
ROOT = "no_other_objectives"
State = ChangeProposal.State


@pytest.fixture
def spec():
    return Spec.objects.get(slug="model-spec")


@pytest.fixture
def published(spec):
    return Version.objects.get(spec=spec, state=Version.State.PUBLISHED)


@pytest.fixture
def person(make_user):
    """person("editor") -> (user, signed-in client past two-factor sign-in)."""

    def make(*roles, username=None):
        user = make_user(username or "-".join(roles) or "nobody", roles=roles, is_staff=bool(roles))
        client = Client()
        if roles:
            sign_in_two_factor(client, user)
        else:
            client.force_login(user)
        return user, client

    return make


@pytest.fixture
def proposal(spec, published, make_user):
    author = make_user("author", roles=["editor"], is_staff=True)
    return proposal_create(
        acting_user=author,
        spec=spec,
        operation="edit",
        base_text=ClauseText.objects.get(version=published, anchor=GUIDELINE),
        new_body_markdown="Every topic may be discussed, carefully.",
        rationale="Plainer words.",
    )


def _main(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]


STAFF_PAGES = ["/staff/proposals/", "/staff/proposals/new/", "/staff/drafts/"]


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_public_is_sent_to_sign_in_and_accounts_are_refused(url, person):
    response = Client().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    _, member = person()
    assert member.get(url).status_code == 403


def test_proposal_pages_for_the_public_and_for_staff(proposal, person):
    url = f"/staff/proposals/{proposal.pk}/"
    assert Client().get(url).status_code == 302
    _, member = person()
    assert member.get(url).status_code == 403
    _, auditor = person("auditor")
    page = auditor.get(url)
    assert page.status_code == 200
    main = _main(page)
    assert "Plainer words." in main
    assert "<ins" in main and "<del" in main  # the word-level diff
    assert "Record your position" not in main and "Withdraw this proposal" not in main
    listing = _main(auditor.get("/staff/proposals/?state=in_review"))
    assert f"P{proposal.pk}" in listing
    assert f"P{proposal.pk}" not in _main(auditor.get("/staff/proposals/?state=accepted"))


def test_editor_creates_a_proposal_with_the_form(person, published):
    _, editor = person("editor")
    form = editor.get(f"/staff/proposals/new/?clause={GUIDELINE}")
    assert form.status_code == 200
    assert ClauseText.objects.get(version=published, anchor=GUIDELINE).heading in _main(form)
    bad = editor.post("/staff/proposals/new/", {"operation": "edit", "clause": GUIDELINE,
                                                "new_body_markdown": "New.", "rationale": ""})  # fmt: skip
    assert bad.status_code == 400 and not ChangeProposal.objects.exists()
    refused = editor.post("/staff/proposals/new/", {"operation": "add", "new_anchor": ROOT,
                          "new_heading": "X", "parent_anchor": "chain_of_command",
                          "rationale": "Why."})  # fmt: skip
    assert refused.status_code == 400 and "already used" in _main(refused)
    good = editor.post("/staff/proposals/new/", {"operation": "edit", "clause": GUIDELINE,
                       "new_body_markdown": "New words.", "rationale": "Clearer."})  # fmt: skip
    created = ChangeProposal.objects.get()
    assert good.status_code == 303 and good["Location"] == f"/staff/proposals/{created.pk}/"
    assert created.base_text.anchor == GUIDELINE and created.new_body_markdown == "New words."


def test_reviewers_take_positions_and_may_not_accept_their_own(proposal, person):
    url = f"/staff/proposals/{proposal.pk}/position/"
    _, triager = person("triager")
    assert triager.post(url, {"position": "accept", "rationale": "Yes."}).status_code == 403
    author = Client()
    sign_in_two_factor(author, proposal.author)
    own = author.post(url, {"position": "accept", "rationale": "Mine."})
    assert own.status_code == 403 and "another reviewer" in _main(own)
    _, reviewer = person("reviewer")
    missing = reviewer.post(url, {"position": "accept", "rationale": ""})
    assert missing.status_code == 400
    done = reviewer.post(url, {"position": "accept", "rationale": "Good."})
    assert done.status_code == 303
    proposal.refresh_from_db()
    assert proposal.state == State.ACCEPTED  # a guideline clause needs one accept
    late = reviewer.post(url, {"position": "decline", "rationale": "Changed my mind."})
    assert late.status_code == 409


def test_withdraw_and_edit_views(proposal, person):
    _, reviewer = person("reviewer")
    assert reviewer.post(f"/staff/proposals/{proposal.pk}/withdraw/").status_code == 403
    assert reviewer.get(f"/staff/proposals/{proposal.pk}/edit/").status_code == 403
    _, editor = person("editor")
    edit = editor.post(f"/staff/proposals/{proposal.pk}/edit/", {
        "operation": "edit", "clause": GUIDELINE, "new_body_markdown": "Changed again.",
        "rationale": "Plainer words."})  # fmt: skip
    assert edit.status_code == 303
    proposal.refresh_from_db()
    assert (proposal.review_round, proposal.new_body_markdown) == (2, "Changed again.")
    assert editor.post(f"/staff/proposals/{proposal.pk}/withdraw/").status_code == 303
    proposal.refresh_from_db()
    assert proposal.state == State.WITHDRAWN
    assert editor.post(f"/staff/proposals/{proposal.pk}/withdraw/").status_code == 409
    assert editor.get(f"/staff/proposals/{proposal.pk}/edit/").status_code == 409


def test_draft_builder_start_apply_and_conflict(proposal, person, spec):
    _, editor = person("editor")
    started = editor.post("/staff/drafts/start/", {"spec": spec.slug, "label": "2099-05-05"})
    draft = Version.objects.get(spec=spec, label="2099-05-05")
    assert started.status_code == 303 and started["Location"] == f"/staff/drafts/{draft.pk}/"
    again = editor.post("/staff/drafts/start/", {"spec": spec.slug, "label": "2099-06-06"})
    assert again.status_code == 409
    second = ChangeProposal.objects.create(
        spec=spec, operation="edit", base_version=proposal.base_version,
        base_text=proposal.base_text, base_hash=proposal.base_hash,
        new_heading=proposal.new_heading, new_body_markdown="Another text.",
        rationale="Alternative.", author=proposal.author, state=State.ACCEPTED)  # fmt: skip
    ChangeProposal.objects.filter(pk=proposal.pk).update(state=State.ACCEPTED)
    page = _main(editor.get(f"/staff/drafts/{draft.pk}/"))
    assert f"Apply P{proposal.pk}" in page and f"Apply P{second.pk}" in page
    assert f"/staff/drafts/{draft.pk}/publish/" in page
    assert f"/specs/model-spec/compare/{draft.parent.label}/{draft.label}/" in page
    _, triager = person("triager")
    assert triager.get(f"/staff/drafts/{draft.pk}/").status_code == 200
    refused = triager.post(f"/staff/drafts/{draft.pk}/apply/", {"proposal": proposal.pk})
    assert refused.status_code == 403
    applied = editor.post(f"/staff/drafts/{draft.pk}/apply/", {"proposal": proposal.pk},
                          HTTP_HX_REQUEST="true")  # fmt: skip
    assert applied.status_code == 200
    fragment = applied.content.decode()
    assert "<main" not in fragment and "applied" in fragment
    assert "CONFLICTING" in fragment and f"Apply P{second.pk}" not in fragment
    conflict = editor.post(f"/staff/drafts/{draft.pk}/apply/", {"proposal": second.pk})
    assert conflict.status_code == 409 and "CONFLICTING" in _main(conflict)
    assert editor.post(f"/staff/drafts/{draft.pk}/apply/", {"proposal": 999999}).status_code == 400


def test_edit_clause_import_and_delete_pages(person, spec, make_user):
    editor_user, editor = person("editor")
    draft = draft_start(acting_user=editor_user, spec=spec, label="2099-07-07")
    clause_url = f"/staff/drafts/{draft.pk}/clauses/{GUIDELINE}/"
    assert editor.get(clause_url).status_code == 200
    _, reviewer = person("reviewer")
    assert reviewer.get(clause_url).status_code == 403
    assert editor.get(f"/staff/drafts/{draft.pk}/clauses/no_such/").status_code == 404
    saved = editor.post(clause_url, {"heading": "Topics", "body_markdown": "Short now.",
                                     "authority": "guideline"})  # fmt: skip
    assert saved.status_code == 303
    assert ClauseText.objects.get(version=draft, anchor=GUIDELINE).body_markdown == "Short now."
    bad = editor.post(clause_url, {"heading": "Topics", "body_markdown": "x\n## H {#h}",
                                   "authority": ""})  # fmt: skip
    assert bad.status_code == 400

    import_url = f"/staff/drafts/{draft.pk}/import/"
    source = Version.objects.get(pk=draft.pk).source_markdown
    upload = io.BytesIO(b"# One {#one}\n\nText.\n\n#### Deep {#deep}\n")
    upload.name = "draft.md"
    failed = editor.post(import_url, {"source": upload})
    assert failed.status_code == 400 and "Line 5" in _main(failed)
    assert Version.objects.get(pk=draft.pk).source_markdown == source
    good = io.BytesIO(b"# One {#one}\n\nText.\n")
    good.name = "draft.md"
    assert editor.post(import_url, {"source": good}).status_code == 303
    assert Version.objects.get(pk=draft.pk).clause_count == 1

    assert reviewer.post(f"/staff/drafts/{draft.pk}/delete/").status_code == 403
    assert editor.get(f"/staff/drafts/{draft.pk}/delete/").status_code == 200
    assert editor.post(f"/staff/drafts/{draft.pk}/delete/").status_code == 303
    assert not Version.objects.filter(pk=draft.pk).exists()
    assert editor.get(f"/staff/drafts/{draft.pk}/").status_code == 404
