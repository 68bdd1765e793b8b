"""Feedback and change proposals: drafting a proposal from an item (prefilled), linking items to
proposals (ledger event, refusals), and what each side's page shows."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from feedback.errors import NotAllowed
from feedback.models import ProposalLink
from feedback.proposal_links import (
    AlreadyLinked,
    item_proposal_initial,
    proposal_create_for_item,
    proposal_link_add,
)
from feedback.services import Quote, Submission, feedback_submit
from modelspec_site.audit.models import Event
from revisions.models import ChangeProposal, ClauseText, Version
from revisions.proposals import RevisionError, proposal_create
from tests.conftest import sign_in_two_factor

pytestmark = pytest.mark.django_db

GUIDELINE = "no_topic_off_limits"


@pytest.fixture
def published():
    return Version.objects.select_related("spec").get(
        spec__slug="model-spec", state=Version.State.PUBLISHED
    )


@pytest.fixture
def clause(published):
    return ClauseText.objects.get(version=published, anchor=GUIDELINE)


def _passage(text: ClauseText) -> str:
    """Eight words of the clause that stand verbatim in both its plain text and Markdown."""
    words = text.plain_text.split()
    for start in range(len(words) - 8):
        candidate = " ".join(words[start : start + 8])
        if text.body_markdown.count(candidate) == 1 and text.plain_text.count(candidate) == 1:
            return candidate
    raise AssertionError("no plain passage found")


@pytest.fixture
def item(published, clause):
    passage = _passage(clause)
    submission = Submission(version=published, clause_id=GUIDELINE, kind="unclear",
                            summary="Say it plainly", quote=Quote(exact=passage),
                            suggested_text="A plainer sentence.")  # fmt: skip
    return feedback_submit(acting_user=AnonymousUser(), submission=submission).item


@pytest.fixture
def editor(make_user):
    return make_user("ed", roles=["editor"], is_staff=True)


def _client(user) -> Client:
    return sign_in_two_factor(Client(), user)


def _main(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_initial_values_replace_the_quoted_passage(item, clause):
    initial = item_proposal_initial(item)
    assert initial["operation"] == "edit" and initial["clause"] == GUIDELINE
    expected = clause.body_markdown.replace(item.quote_exact, "A plainer sentence.")
    assert initial["new_body_markdown"] == expected != clause.body_markdown
    assert item.tracking_number in initial["rationale"]


def test_link_add_records_an_internal_event_and_refuses_twice(item, clause, editor, make_user):
    proposal = proposal_create(acting_user=editor, spec=item.spec, operation="remove",
                               base_text=clause, rationale="Obsolete.")  # fmt: skip
    link = proposal_link_add(acting_user=editor, item=item, proposal=proposal)
    assert (link.item, link.proposal) == (item, proposal)
    event = Event.objects.filter(action="feedback.proposal_linked").latest("seq")
    assert event.visibility == "internal"
    assert event.data == {"tracking_number": item.tracking_number, "proposal": proposal.pk}
    with pytest.raises(AlreadyLinked) as caught:
        proposal_link_add(acting_user=editor, item=item, proposal=proposal)
    assert caught.value.status == 409
    with pytest.raises(NotAllowed):
        proposal_link_add(acting_user=make_user("r", roles=["reviewer"], is_staff=True),
                          item=item, proposal=proposal)  # fmt: skip
    assert ProposalLink.objects.count() == 1


def test_create_for_item_is_both_or_neither(item, clause, editor):
    events = Event.objects.count()
    with pytest.raises(RevisionError):
        proposal_create_for_item(acting_user=editor, item=item, operation="edit",
                                 base_text=clause, new_body_markdown="Text.", rationale="")  # fmt: skip
    assert not ChangeProposal.objects.exists() and Event.objects.count() == events
    proposal = proposal_create_for_item(acting_user=editor, item=item, operation="edit",
                                        base_text=clause, new_body_markdown="Text.",
                                        rationale="Answers it.")  # fmt: skip
    assert ProposalLink.objects.filter(item=item, proposal=proposal).exists()


def test_editor_drafts_a_proposal_from_the_item_page(item, clause, editor, make_user):
    client = _client(editor)
    page = _main(client.get(f"/staff/items/{item.tracking_number}/"))
    propose_url = f"/staff/items/{item.tracking_number}/propose/"
    assert propose_url in page and "No change proposal answers this item yet." in page
    # From the revisions side, ?item= leads to the same form.
    redirect = client.get(f"/staff/proposals/new/?item={item.tracking_number}")
    assert redirect.status_code == 302 and redirect["Location"] == propose_url
    form = client.get(propose_url)
    assert form.status_code == 200
    assert "A plainer sentence." in _main(form)  # prefilled, and shown as the suggestion
    body = clause.body_markdown.replace(item.quote_exact, "A plainer sentence.")
    sent = client.post(propose_url, {"operation": "edit", "clause": GUIDELINE,
                                     "new_body_markdown": body, "rationale": "As suggested."})  # fmt: skip
    proposal = ChangeProposal.objects.get()
    assert sent.status_code == 303 and sent["Location"] == f"/staff/proposals/{proposal.pk}/"
    assert ProposalLink.objects.filter(item=item, proposal=proposal).exists()
    # The proposal's page lists the item; the item's page lists the proposal and its state.
    proposal_page = _main(client.get(f"/staff/proposals/{proposal.pk}/"))
    assert item.tracking_number in proposal_page and "Say it plainly" in proposal_page
    item_page = _main(client.get(f"/staff/items/{item.tracking_number}/"))
    assert f"/staff/proposals/{proposal.pk}/" in item_page and "In review" in item_page


def test_other_roles_cannot_propose_or_link(item, clause, editor, make_user):
    reviewer = _client(make_user("rev", roles=["reviewer"], is_staff=True))
    page = _main(reviewer.get(f"/staff/items/{item.tracking_number}/"))
    assert "/propose/" not in page
    assert reviewer.get(f"/staff/items/{item.tracking_number}/propose/").status_code == 403
    proposal = proposal_create(acting_user=editor, spec=item.spec, operation="remove",
                               base_text=clause, rationale="Obsolete.")  # fmt: skip
    link_url = f"/staff/items/{item.tracking_number}/proposals/link/"
    assert reviewer.post(link_url, {"proposal": f"P{proposal.pk}"}).status_code == 403
    assert Client().post(link_url, {"proposal": proposal.pk}).status_code == 302  # sign in
    member = Client()
    member.force_login(make_user("member"))
    assert member.get(f"/staff/items/{item.tracking_number}/propose/").status_code == 404
    editor_client = _client(editor)
    assert editor_client.post(link_url, {"proposal": "P999999"}).status_code == 400
    assert editor_client.post(link_url, {"proposal": f"P{proposal.pk}"}).status_code == 303
    assert editor_client.post(link_url, {"proposal": f"P{proposal.pk}"}).status_code == 409
    assert ProposalLink.objects.filter(item=item, proposal=proposal).count() == 1
