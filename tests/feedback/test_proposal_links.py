"""Feedback and change proposals: drafting a proposal from an item (prefilled), linking items to
proposals and removing a wrong link (ledger events, refusals), what each side's page shows, and
that an unlinked item is not incorporated when the proposal is published."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from feedback.errors import FeedbackError, NotAllowed
from feedback.models import FeedbackItem, ProposalLink, State
from feedback.proposal_links import (
    AlreadyLinked,
    LinkIsHistory,
    NotLinked,
    item_proposal_initial,
    proposal_create_for_item,
    proposal_link_add,
    proposal_link_remove,
)
from feedback.services import Quote, Submission, feedback_submit
from feedback.transitions import decision_record, feedback_transition
from modelspec_site.audit.models import Event
from revisions.drafts import draft_apply_proposal, draft_start
from revisions.models import ChangeProposal, ClauseText, Version
from revisions.proposals import RevisionError, proposal_create, proposal_position
from revisions.services import version_publish
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
    source = f'Drafted from feedback <a href="/staff/items/{item.tracking_number}/">'
    assert source in _main(form) and "</a>: Say it plainly</p>" in _main(form)
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


# --- Removing a link -------------------------------------------------------------------------


@pytest.fixture
def proposal(item, clause, editor):
    return proposal_create(acting_user=editor, spec=item.spec, operation="remove",
                           base_text=clause, rationale="Obsolete.")  # fmt: skip


def _another_item(item) -> FeedbackItem:
    submission = Submission(version=item.version, clause_id=GUIDELINE, kind="unclear",
                            summary="Also unclear")  # fmt: skip
    return feedback_submit(acting_user=AnonymousUser(), submission=submission).item


def _unlink_url(item, proposal) -> str:
    return f"/staff/items/{item.tracking_number}/proposals/{proposal.pk}/unlink/"


def _proposals_section(page: str) -> str:
    return page.split('id="proposals"', 1)[1].split("</section>", 1)[0]


def test_unlink_removes_the_link_and_records_an_internal_event(item, proposal, editor):
    proposal_link_add(acting_user=editor, item=item, proposal=proposal)
    linked = Event.objects.get(action="feedback.proposal_linked")
    proposal_link_remove(acting_user=editor, item=item, proposal=proposal, reason=" Wrong item. ")
    assert not ProposalLink.objects.filter(item=item, proposal=proposal).exists()
    event = Event.objects.get(action="feedback.proposal_unlinked")
    assert event.visibility == "internal" and event.actor_id == editor.pk
    assert event.data == {
        "tracking_number": item.tracking_number,
        "proposal": proposal.pk,
        "reason": "Wrong item.",
    }
    assert [(s["type"], s["id"]) for s in event.subjects] == [
        ("feedback.feedbackitem", str(item.pk)),
        ("revisions.changeproposal", str(proposal.pk)),
    ]
    # The ledger is append-only: the event of the original link is still there, before it.
    assert Event.objects.filter(seq=linked.seq, action="feedback.proposal_linked").exists()
    assert linked.seq < event.seq
    # The item can be linked again afterwards.
    proposal_link_add(acting_user=editor, item=item, proposal=proposal)
    assert ProposalLink.objects.filter(item=item, proposal=proposal).count() == 1


@pytest.mark.parametrize("roles", [["reviewer"], ["triager"], ["moderator"], ["auditor"], []])
def test_only_editors_unlink(item, proposal, editor, make_user, roles):
    proposal_link_add(acting_user=editor, item=item, proposal=proposal)
    events = Event.objects.count()
    other = make_user("other", roles=roles, is_staff=bool(roles))
    with pytest.raises(NotAllowed) as caught:
        proposal_link_remove(acting_user=other, item=item, proposal=proposal)
    assert caught.value.status == 403
    with pytest.raises(NotAllowed):
        proposal_link_remove(acting_user=AnonymousUser(), item=item, proposal=proposal)
    assert ProposalLink.objects.filter(item=item, proposal=proposal).exists()
    assert Event.objects.count() == events


def test_unlinking_what_is_not_linked_is_refused(item, proposal, editor):
    other = _another_item(item)
    events = Event.objects.count()
    with pytest.raises(NotLinked) as caught:
        proposal_link_remove(acting_user=editor, item=item, proposal=proposal)
    assert caught.value.status == 409
    assert (
        item.tracking_number in caught.value.message and f"P{proposal.pk}" in caught.value.message
    )
    # A link of the same proposal to another item is not this item's link.
    proposal_link_add(acting_user=editor, item=other, proposal=proposal)
    with pytest.raises(NotLinked):
        proposal_link_remove(acting_user=editor, item=item, proposal=proposal)
    assert ProposalLink.objects.filter(item=other, proposal=proposal).exists()
    assert not Event.objects.filter(action="feedback.proposal_unlinked").exists()
    assert Event.objects.count() == events + 1  # only the link to the other item


def test_a_published_proposal_keeps_its_links(item, proposal, editor):
    proposal_link_add(acting_user=editor, item=item, proposal=proposal)
    ChangeProposal.objects.filter(pk=proposal.pk).update(state=ChangeProposal.State.PUBLISHED)
    events = Event.objects.count()
    with pytest.raises(LinkIsHistory) as caught:
        proposal_link_remove(acting_user=editor, item=item, proposal=proposal)
    assert caught.value.status == 409 and "history" in caught.value.message
    assert ProposalLink.objects.filter(item=item, proposal=proposal).exists()
    assert Event.objects.count() == events


def test_a_long_reason_is_refused(item, proposal, editor):
    proposal_link_add(acting_user=editor, item=item, proposal=proposal)
    with pytest.raises(FeedbackError) as caught:
        proposal_link_remove(acting_user=editor, item=item, proposal=proposal, reason="x" * 1001)
    assert caught.value.field == "reason" and caught.value.status == 400
    assert ProposalLink.objects.filter(item=item, proposal=proposal).exists()


def test_editor_unlinks_from_the_item_page(item, proposal, editor):
    proposal_link_add(acting_user=editor, item=item, proposal=proposal)
    client = _client(editor)
    page_url = f"/staff/items/{item.tracking_number}/"
    section = _proposals_section(_main(client.get(page_url)))
    assert f'action="{_unlink_url(item, proposal)}"' in section
    assert f"Unlink P{proposal.pk}</button>" in section
    assert f'<label for="unlink-reason-{proposal.pk}">' in section
    sent = client.post(_unlink_url(item, proposal), {"reason": "Linked by mistake."})
    assert sent.status_code == 303 and sent["Location"] == page_url + "#proposals"
    assert not ProposalLink.objects.filter(item=item, proposal=proposal).exists()
    event = Event.objects.get(action="feedback.proposal_unlinked")
    assert event.data["reason"] == "Linked by mistake."
    page = client.get(page_url).content.decode()
    assert f"{item.tracking_number} is no longer linked to P{proposal.pk}." in page
    section = _proposals_section(page)
    assert "No change proposal answers this item yet." in section
    assert f"/staff/proposals/{proposal.pk}/" not in section and "/unlink/" not in section
    # Again: the link is gone, a clear refusal on the page, not a 500.
    again = client.post(_unlink_url(item, proposal))
    assert again.status_code == 409
    assert f"{item.tracking_number} is not linked to P{proposal.pk}." in _main(again)
    missing = client.post(f"/staff/items/{item.tracking_number}/proposals/999999999/unlink/")
    assert missing.status_code == 404
    assert "There is no change proposal with this number." in _main(missing)
    assert client.get(_unlink_url(item, proposal)).status_code == 405


def test_other_people_see_no_unlink_button_and_cannot_unlink(item, proposal, editor, make_user):
    proposal_link_add(acting_user=editor, item=item, proposal=proposal)
    url = _unlink_url(item, proposal)
    reviewer = _client(make_user("rev", roles=["reviewer"], is_staff=True))
    section = _proposals_section(_main(reviewer.get(f"/staff/items/{item.tracking_number}/")))
    assert f"/staff/proposals/{proposal.pk}/" in section  # the link is listed
    assert "/unlink/" not in section and "Unlink" not in section
    refused = reviewer.post(url)
    assert refused.status_code == 403
    assert "Only editors unlink feedback from change proposals." in _main(refused)
    anonymous = Client().post(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    member = Client()
    member.force_login(make_user("member"))
    assert member.post(url).status_code == 404
    assert ProposalLink.objects.filter(item=item, proposal=proposal).exists()
    assert not Event.objects.filter(action="feedback.proposal_unlinked").exists()


def _accept(item, lead) -> FeedbackItem:
    """Walk an item (on a guideline clause: one reviewer's accept is enough) to accepted."""
    feedback_transition(acting_user=lead, item=item, action="triage")
    feedback_transition(acting_user=lead, item=item, action="start_review")
    decision_record(acting_user=lead, item=item, position="accept", rationale="Agreed.")
    return feedback_transition(acting_user=lead, item=item, action="accept", rationale="Yes.")


def test_an_unlinked_item_is_not_incorporated_when_the_proposal_is_published(
    item, clause, editor, make_user
):
    lead = make_user("lead", roles=["editor", "reviewer"], is_staff=True)
    reviewer = make_user("rev", roles=["reviewer"], is_staff=True)
    other = _another_item(item)
    item, other = _accept(item, lead), _accept(other, lead)
    assert item.state == other.state == State.ACCEPTED
    proposal = proposal_create(acting_user=editor, spec=item.spec, operation="edit",
                               base_text=clause, new_heading=clause.heading,
                               new_body_markdown=clause.body_markdown + "\n\nPlainly put.",
                               rationale="Plainer.")  # fmt: skip
    proposal_position(acting_user=reviewer, proposal=proposal, position="accept", rationale="Yes.")
    for linked in (item, other):
        proposal_link_add(acting_user=editor, item=linked, proposal=proposal)
    draft = draft_start(acting_user=editor, spec=item.spec, label="2026-01-15")
    draft_apply_proposal(acting_user=editor, draft=draft, proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.state == ChangeProposal.State.APPLIED
    # Applied to a draft is not published yet: the wrong link can still go.
    proposal_link_remove(acting_user=editor, item=item, proposal=proposal, reason="Wrong item.")

    version_publish(version=Version.objects.get(pk=draft.pk), acting_user=editor)

    item.refresh_from_db()
    other.refresh_from_db()
    assert other.state == State.INCORPORATED
    assert item.state == State.ACCEPTED
    # Now the proposal is published: its remaining link is history.
    with pytest.raises(LinkIsHistory):
        proposal_link_remove(acting_user=editor, item=other, proposal=proposal)
    assert ProposalLink.objects.filter(item=other, proposal=proposal).exists()
    section = _proposals_section(
        _main(_client(editor).get(f"/staff/items/{other.tracking_number}/"))
    )
    assert f"/staff/proposals/{proposal.pk}/" in section and "Published" in section
    assert "/unlink/" not in section
