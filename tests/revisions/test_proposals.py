"""Change proposals: validation per operation, the approval rule by authority, self-review,
recusal, declines, new rounds on change, withdrawal, and the ledger events of each."""

import pytest

from modelspec_site.audit.models import Event
from revisions.models import ChangeProposal, ClauseText, ProposalPosition, Spec, Version
from revisions.proposals import (
    RevisionConflict,
    RevisionError,
    RevisionNotAllowed,
    proposal_approval,
    proposal_create,
    proposal_position,
    proposal_update,
    proposal_withdraw,
)

pytestmark = pytest.mark.django_db

ROOT = "no_other_objectives"  # authority=root, no subsections
GUIDELINE = "no_topic_off_limits"  # authority=guideline, no subsections
State = ChangeProposal.State


@pytest.fixture
def spec():
    return Spec.objects.get(slug="model-spec")


@pytest.fixture
def published(spec):
    return Version.objects.get(spec=spec, state=Version.State.PUBLISHED)


@pytest.fixture
def text(published):
    return lambda anchor: ClauseText.objects.get(version=published, anchor=anchor)


@pytest.fixture
def people(make_user):
    editor = make_user("ed", roles=["editor"], is_staff=True)
    reviewers = [make_user(f"rev{i}", roles=["reviewer"], is_staff=True) for i in range(3)]
    triager = make_user("tri", roles=["triager"], is_staff=True)
    return editor, reviewers, triager


def _edit(spec, text, editor, anchor=GUIDELINE, body="A new text for this clause."):
    return proposal_create(
        acting_user=editor,
        spec=spec,
        operation="edit",
        base_text=text(anchor),
        new_body_markdown=body,
        rationale="Clearer.",
    )


def _events(action):
    return list(Event.objects.filter(action=action).order_by("seq"))


def test_create_edit_records_base_and_an_internal_event(spec, published, text, people):
    editor, _, _ = people
    before = Event.objects.count()
    proposal = _edit(spec, text, editor)
    assert proposal.state == State.IN_REVIEW
    assert proposal.base_version == published
    assert proposal.base_hash == text(GUIDELINE).content_hash
    assert proposal.new_heading == text(GUIDELINE).heading  # empty heading keeps the heading
    assert Event.objects.count() == before + 1
    event = _events("proposal.created")[-1]
    assert event.visibility == "internal"
    assert event.data["proposal"] == proposal.pk and event.data["clause"] == GUIDELINE


@pytest.mark.parametrize(
    ("operation", "fields", "field"),
    [
        ("edit", {"base_text": GUIDELINE}, "new_body_markdown"),  # empty text
        ("edit", {}, "base_text"),
        ("edit", {"base_text": GUIDELINE, "new_body_markdown": "x\n## Sneaky {#h}"}, "new_body_markdown"),
        ("remove", {}, "base_text"),
        ("add", {"new_anchor": ROOT, "new_heading": "X", "parent_anchor": "chain_of_command"}, "new_anchor"),
        ("add", {"new_anchor": "9bad", "new_heading": "X", "parent_anchor": "chain_of_command"}, "new_anchor"),
        ("add", {"new_anchor": "brand_new", "new_heading": "X"}, "parent_anchor"),
        ("add", {"new_anchor": "brand_new", "parent_anchor": "chain_of_command"}, "new_heading"),
        ("add", {"new_anchor": "brand_new", "new_heading": "X", "parent_anchor": "no_such"}, "parent_anchor"),
        ("add", {"new_anchor": "brand_new", "new_heading": "X", "parent_anchor": "chain_of_command",
                 "after_anchor": GUIDELINE}, "after_anchor"),  # not a child of that parent
        ("move", {"base_text": ROOT}, "parent_anchor"),  # no place
        ("move", {"base_text": ROOT, "parent_anchor": ROOT}, "parent_anchor"),  # under itself
        ("move", {"base_text": "chain_of_command", "parent_anchor": ROOT}, "parent_anchor"),  # own child
        ("move", {"base_text": "restricted_content", "parent_anchor": "prohibited_content"}, "parent_anchor"),  # too deep
        ("authority", {"base_text": ROOT, "new_authority": "sovereign"}, "new_authority"),
        ("authority", {"base_text": ROOT, "new_authority": "root"}, "new_authority"),  # same
        ("bogus", {"base_text": ROOT}, "operation"),
    ],
)  # fmt: skip
def test_create_refuses_what_an_operation_lacks(spec, text, people, operation, fields, field):
    editor, _, _ = people
    if "base_text" in fields:
        fields = fields | {"base_text": text(fields["base_text"])}
    before = (ChangeProposal.objects.count(), Event.objects.count())
    with pytest.raises(RevisionError) as caught:
        proposal_create(
            acting_user=editor, spec=spec, operation=operation, rationale="Because.", **fields
        )
    assert caught.value.field == field, caught.value.message
    assert caught.value.status == 400
    assert (ChangeProposal.objects.count(), Event.objects.count()) == before


def test_create_needs_a_rationale_and_an_editor(spec, text, people):
    editor, reviewers, triager = people
    with pytest.raises(RevisionError) as caught:
        proposal_create(acting_user=editor, spec=spec, operation="remove",
                        base_text=text(ROOT), rationale="  ")  # fmt: skip
    assert caught.value.field == "rationale"
    for user in (reviewers[0], triager):
        with pytest.raises(RevisionNotAllowed):
            proposal_create(acting_user=user, spec=spec, operation="remove",
                            base_text=text(ROOT), rationale="Gone.")  # fmt: skip


def test_valid_add_move_and_authority(spec, text, people):
    editor, _, _ = people
    add = proposal_create(acting_user=editor, spec=spec, operation="add", new_anchor="brand_new",
                          new_heading="Brand new", new_body_markdown="Text.",
                          parent_anchor="chain_of_command", after_anchor=ROOT,
                          rationale="Missing case.")  # fmt: skip
    assert add.base_text is None and add.base_hash == ""
    move = proposal_create(acting_user=editor, spec=spec, operation="move", base_text=text(ROOT),
                           parent_anchor="chain_of_command", rationale="Order.")  # fmt: skip
    assert move.parent_anchor == "chain_of_command" and move.after_anchor == ""
    auth = proposal_create(acting_user=editor, spec=spec, operation="authority",
                           base_text=text(GUIDELINE), new_authority="user", rationale="Stronger.")  # fmt: skip
    assert auth.new_authority == "user" and auth.new_body_markdown == ""


def test_root_clause_needs_two_distinct_accepts(spec, text, people):
    editor, (r1, r2, _), _ = people
    proposal = _edit(spec, text, editor, anchor=ROOT)
    assert proposal_approval(proposal).required == 2
    proposal = proposal_position(acting_user=r1, proposal=proposal, position="accept",
                                 rationale="Yes.")  # fmt: skip
    assert proposal.state == State.IN_REVIEW
    # The same reviewer again does not count twice.
    proposal = proposal_position(acting_user=r1, proposal=proposal, position="accept",
                                 rationale="Still yes.")  # fmt: skip
    assert proposal.state == State.IN_REVIEW
    assert ProposalPosition.objects.filter(proposal=proposal).count() == 1
    proposal = proposal_position(acting_user=r2, proposal=proposal, position="accept",
                                 rationale="Agreed.")  # fmt: skip
    assert proposal.state == State.ACCEPTED
    assert ChangeProposal.objects.get(pk=proposal.pk).state == State.ACCEPTED
    accepted = _events("proposal.accepted")
    assert accepted[-1].data["accepting"] == ["rev0", "rev1"]
    assert accepted[-1].visibility == "internal"
    assert len(_events("proposal.position_recorded")) == 3


def test_guideline_clause_needs_one_accept(spec, text, people):
    editor, (r1, _, _), _ = people
    proposal = _edit(spec, text, editor)
    assert proposal_approval(proposal).required == 1
    proposal = proposal_position(acting_user=r1, proposal=proposal, position="accept",
                                 rationale="Fine.")  # fmt: skip
    assert proposal.state == State.ACCEPTED


def test_raising_authority_follows_the_stricter_rule(spec, text, people):
    editor, (r1, _, _), _ = people
    proposal = proposal_create(acting_user=editor, spec=spec, operation="authority",
                               base_text=text(GUIDELINE), new_authority="root",
                               rationale="Make it binding.")  # fmt: skip
    assert proposal_approval(proposal).required == 2
    proposal = proposal_position(acting_user=r1, proposal=proposal, position="accept",
                                 rationale="Yes.")  # fmt: skip
    assert proposal.state == State.IN_REVIEW


def test_author_may_not_accept_own_proposal(spec, text, people, make_user):
    editor, _, _ = people
    proposal = _edit(spec, text, editor)
    with pytest.raises(RevisionNotAllowed) as caught:
        proposal_position(acting_user=editor, proposal=proposal, position="accept",
                          rationale="Mine.")  # fmt: skip
    assert caught.value.status == 403
    assert not ProposalPosition.objects.filter(proposal=proposal).exists()
    # A recusal by the author is allowed (and counts for nothing).
    proposal = proposal_position(acting_user=editor, proposal=proposal, position="recuse")
    assert proposal.state == State.IN_REVIEW


def test_recusal_does_not_count_toward_approval(spec, text, people):
    editor, (r1, r2, r3), _ = people
    proposal = _edit(spec, text, editor, anchor=ROOT)
    proposal_position(acting_user=r1, proposal=proposal, position="recuse")
    proposal_position(acting_user=r2, proposal=proposal, position="accept", rationale="Yes.")
    approval = proposal_approval(ChangeProposal.objects.get(pk=proposal.pk))
    assert approval.recused == ("rev0",) and approval.accepting == ("rev1",)
    assert not approval.met
    proposal = proposal_position(acting_user=r3, proposal=proposal, position="accept",
                                 rationale="Yes.")  # fmt: skip
    assert proposal.state == State.ACCEPTED


def test_a_reasoned_decline_closes_the_proposal(spec, text, people):
    editor, (r1, r2, _), _ = people
    proposal = _edit(spec, text, editor, anchor=ROOT)
    with pytest.raises(RevisionError) as caught:
        proposal_position(acting_user=r1, proposal=proposal, position="decline")
    assert caught.value.field == "rationale"
    proposal = proposal_position(acting_user=r1, proposal=proposal, position="decline",
                                 rationale="Changes the meaning.")  # fmt: skip
    assert proposal.state == State.DECLINED
    assert _events("proposal.declined")[-1].data["rationale"] == "Changes the meaning."
    with pytest.raises(RevisionConflict) as conflict:
        proposal_position(acting_user=r2, proposal=proposal, position="accept", rationale="Yes.")
    assert conflict.value.status == 409


def test_only_reviewers_take_positions(spec, text, people):
    editor, _, triager = people
    proposal = _edit(spec, text, editor)
    with pytest.raises(RevisionNotAllowed):
        proposal_position(acting_user=triager, proposal=proposal, position="accept",
                          rationale="Yes.")  # fmt: skip


def test_update_starts_a_new_round(spec, text, people):
    editor, (r1, r2, _), _ = people
    proposal = _edit(spec, text, editor, anchor=ROOT)
    proposal_position(acting_user=r1, proposal=proposal, position="accept", rationale="Yes.")
    proposal = proposal_update(acting_user=editor, proposal=proposal,
                               new_body_markdown="A better text.")  # fmt: skip
    assert proposal.review_round == 2
    assert _events("proposal.updated")[-1].data["changed"] == ["new_body_markdown"]
    # r1's accept was for round 1: r2's alone is not enough now.
    proposal = proposal_position(acting_user=r2, proposal=proposal, position="accept",
                                 rationale="Yes.")  # fmt: skip
    assert proposal.state == State.IN_REVIEW
    # Saving without a change is not a new round.
    events = Event.objects.count()
    same = proposal_update(
        acting_user=editor, proposal=proposal, new_body_markdown="A better text."
    )
    assert same.review_round == 2 and Event.objects.count() == events


def test_update_is_checked_like_create_and_only_in_review(spec, text, people):
    editor, (r1, _, _), _ = people
    proposal = _edit(spec, text, editor)
    with pytest.raises(RevisionError) as caught:
        proposal_update(acting_user=editor, proposal=proposal,
                        new_body_markdown=text(GUIDELINE).body_markdown)  # fmt: skip
    assert caught.value.field == "new_body_markdown"
    proposal_position(acting_user=r1, proposal=proposal, position="accept", rationale="Yes.")
    with pytest.raises(RevisionConflict):
        proposal_update(acting_user=editor, proposal=proposal, rationale="Other.")


def test_withdraw(spec, text, people):
    editor, (r1, _, _), _ = people
    proposal = _edit(spec, text, editor)
    with pytest.raises(RevisionNotAllowed):
        proposal_withdraw(acting_user=r1, proposal=proposal)
    proposal = proposal_withdraw(acting_user=editor, proposal=proposal, rationale="Not needed.")
    assert proposal.state == State.WITHDRAWN
    assert _events("proposal.withdrawn")[-1].data["rationale"] == "Not needed."
    with pytest.raises(RevisionConflict):
        proposal_withdraw(acting_user=editor, proposal=proposal)
