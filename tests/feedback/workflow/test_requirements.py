"""What actions require: a public rationale for every closing decision but spam, the original of
a duplicate (and its rules), a message when asking for or giving information. A refusal changes
nothing."""

import pytest

from feedback import workflow
from feedback.errors import FeedbackError
from feedback.models import Endorsement, FeedbackItem, Note, State, Subscription
from feedback.transitions import RATIONALE_MAX, feedback_transition, subscription_add
from modelspec_site.audit.models import Event

from .conftest import approve, snapshot

pytestmark = pytest.mark.django_db

S = State
# Closing (or accepting) decisions taken by staff: each needs a public rationale but spam.
# Withdrawing is the submitter's own choice and incorporating is recorded by the published
# version itself, so neither is a staff decision that owes an explanation.
NEEDS_RATIONALE = {
    "mark_duplicate": S.RECEIVED,
    "decline": S.TRIAGED,
    "defer": S.IN_REVIEW,
    "accept": S.IN_REVIEW,
    "reopen": S.DECLINED,
}


def test_the_table_asks_a_rationale_of_every_staff_decision_but_spam():
    staff_roles = {"triager", "reviewer", "editor", "moderator"}
    for name, action in workflow.ACTIONS.items():
        decides = bool(
            (action.target in workflow.CLOSED_STATES | {S.ACCEPTED} or name == "reopen")
            and action.actors & staff_roles
        )
        assert (workflow.RATIONALE in action.requires) == (decides and name != "mark_spam"), name
    assert set(NEEDS_RATIONALE) == {
        name for name, action in workflow.ACTIONS.items() if workflow.RATIONALE in action.requires
    }


@pytest.fixture
def editor(staff):
    return staff("editor", "triager", "reviewer", username="boss")


@pytest.mark.parametrize(("name", "state"), NEEDS_RATIONALE.items())
@pytest.mark.parametrize("rationale", ["", "   \n\t "])
def test_a_missing_rationale_is_refused(name, state, rationale, item_in, file_item, editor, staff):
    item = item_in(state)
    approve(item, [staff("reviewer", username="r1")])
    extra = {"duplicate_of": file_item(summary="Original")} if name == "mark_duplicate" else {}
    before = snapshot(item)
    with pytest.raises(FeedbackError) as refused:
        feedback_transition(
            acting_user=editor, item=item, action=name, rationale=rationale, **extra
        )
    assert (refused.value.status, refused.value.field) == (400, "rationale")
    assert snapshot(item) == before


def test_spam_needs_no_rationale(item_in, staff):
    item = item_in(S.RECEIVED)
    feedback_transition(acting_user=staff("moderator"), item=item, action="mark_spam")
    row = FeedbackItem.objects.get(pk=item.pk)
    assert (row.state, row.resolution) == (S.SPAM, "")


def test_the_rationale_is_public_and_bounded(item_in, editor):
    item = item_in(S.TRIAGED)
    before = snapshot(item)
    with pytest.raises(FeedbackError, match="under"):
        feedback_transition(
            acting_user=editor, item=item, action="decline", rationale="x" * (RATIONALE_MAX + 1)
        )
    assert snapshot(item) == before
    feedback_transition(
        acting_user=editor, item=item, action="decline", rationale="  Out of scope.  "
    )
    row = FeedbackItem.objects.get(pk=item.pk)
    assert row.resolution == "Out of scope."
    event = Event.objects.filter(action="feedback.declined").get()
    assert (event.visibility, event.data["rationale"]) == ("public", "Out of scope.")


# --- Duplicates ------------------------------------------------------------------------------


def test_a_duplicate_needs_its_original(item_in, editor):
    item = item_in(S.RECEIVED)
    before = snapshot(item)
    with pytest.raises(FeedbackError) as refused:
        feedback_transition(acting_user=editor, item=item, action="mark_duplicate", rationale="Dup")
    assert refused.value.field == "duplicate_of"
    assert snapshot(item) == before


@pytest.mark.parametrize("problem", ["itself", "internal", "a duplicate"])
def test_the_original_must_be_a_fitting_item(problem, item_in, file_item, editor):
    item = item_in(S.TRIAGED)
    if problem == "itself":
        original = item
    elif problem == "internal":
        original = file_item(summary="Internal", visibility="internal", user=editor)
    else:
        original = item_in(S.DUPLICATE, summary="Already a duplicate")
    before = snapshot(item)
    with pytest.raises(FeedbackError) as refused:
        feedback_transition(
            acting_user=editor,
            item=item,
            action="mark_duplicate",
            rationale="Same as another.",
            duplicate_of=original,
        )
    assert refused.value.field == "duplicate_of"
    assert snapshot(item) == before


def test_only_marking_a_duplicate_names_an_original(item_in, file_item, editor):
    item, unrelated = item_in(S.RECEIVED), file_item(summary="Unrelated")
    before = snapshot(item)
    with pytest.raises(FeedbackError) as refused:
        feedback_transition(
            acting_user=editor, item=item, action="decline", rationale="No.", duplicate_of=unrelated
        )
    assert refused.value.field == "duplicate_of"
    assert snapshot(item) == before


def test_marking_a_duplicate_points_to_the_original_and_moves_support(
    item_in, file_item, editor, make_user
):
    original = file_item(summary="The original")
    item = item_in(S.RECEIVED)
    fan, both = make_user("fan"), make_user("both")
    for user in (fan, both):
        Endorsement.objects.create(item=item, user=user)
    Endorsement.objects.create(item=original, user=both)
    FeedbackItem.objects.filter(pk=item.pk).update(endorsement_count=2)
    FeedbackItem.objects.filter(pk=original.pk).update(endorsement_count=1)
    subscription_add(item=item, user=fan)

    feedback_transition(
        acting_user=editor,
        item=item,
        action="mark_duplicate",
        rationale="Same question.",
        duplicate_of=original,
        expected_state=S.RECEIVED,
    )
    item.refresh_from_db()
    original.refresh_from_db()
    assert (item.state, item.duplicate_of_id) == (S.DUPLICATE, original.pk)
    assert set(original.endorsements.values_list("user__username", flat=True)) == {"fan", "both"}
    assert (original.endorsement_count, item.endorsement_count) == (2, 1)
    assert Subscription.objects.filter(item=original, user=fan).exists()
    event = Event.objects.filter(action="feedback.marked_duplicate").get()
    assert event.data["duplicate_of"] == original.tracking_number
    assert {s["id"] for s in event.subjects} == {str(item.pk), str(original.pk)}


# --- Messages --------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["", "  "])
def test_asking_for_information_needs_the_question(message, item_in, editor):
    item = item_in(S.TRIAGED)
    before = snapshot(item)
    with pytest.raises(FeedbackError) as refused:
        feedback_transition(acting_user=editor, item=item, action="request_info", message=message)
    assert refused.value.field == "message"
    assert snapshot(item) == before


def test_the_question_and_the_answer_are_public_notes(item_in, editor):
    item = item_in(S.TRIAGED)
    feedback_transition(
        acting_user=editor, item=item, action="request_info", message="Which model?"
    )
    item.refresh_from_db()
    assert item.state == S.NEEDS_INFO
    before = snapshot(item)
    with pytest.raises(FeedbackError) as refused:
        feedback_transition(acting_user=item.submitter, item=item, action="provide_info")
    assert refused.value.field == "message"
    assert snapshot(item) == before
    feedback_transition(
        acting_user=None, item=item, action="provide_info", message="GPT.", follow_token_ok=True
    )
    item.refresh_from_db()
    assert item.state == S.RECEIVED  # back in the triage queue
    notes = list(Note.objects.filter(item=item).order_by("created_at", "pk"))
    assert [(n.kind, n.body, n.author_label) for n in notes] == [
        (Note.Kind.PUBLIC_REPLY, "Which model?", "boss"),
        (Note.Kind.SUBMITTER_REPLY, "GPT.", "submitter"),
    ]


def test_a_duplicate_moves_anonymous_support_and_followers_once_each(
    item_in, file_item, editor, make_user
):
    original = file_item(summary="The original")
    item = item_in(S.RECEIVED)
    for key in ("browser-a", "browser-b"):
        Endorsement.objects.create(item=item, anonymous_key_hash=key)
    Endorsement.objects.create(item=original, anonymous_key_hash="browser-b")
    FeedbackItem.objects.filter(pk=item.pk).update(endorsement_count=2)
    FeedbackItem.objects.filter(pk=original.pk).update(endorsement_count=1)
    both, only_here = make_user("follows-both"), make_user("follows-dup")
    for user in (both, only_here):
        subscription_add(item=item, user=user)
    subscription_add(item=original, user=both)

    feedback_transition(acting_user=editor, item=item, action="mark_duplicate",
                        rationale="Same.", duplicate_of=original, expected_state=S.RECEIVED)  # fmt: skip

    original.refresh_from_db()
    item.refresh_from_db()
    assert sorted(original.endorsements.values_list("anonymous_key_hash", flat=True)) == [
        "browser-a",
        "browser-b",
    ]
    assert (original.endorsement_count, item.endorsement_count) == (2, 1)
    assert Subscription.objects.filter(item=original, user=both).count() == 1
    assert Subscription.objects.filter(item=original, user=only_here).count() == 1
    assert not Subscription.objects.filter(item=item).exists()
