"""Carrying open feedback forward when a version is published: re-anchoring outcomes, the
stored rows, the ledger trail, incorporation, and what stays internal."""

from feedback.carry import CARRIED_ACTION
from feedback.models import AnchorOutcome, FeedbackItem, ProposalLink, Reanchoring, State
from feedback.transitions import feedback_transition
from modelspec_site.audit.models import Event
from revisions.models import ChangeProposal, ClauseText

from .conftest import CHANGED_QUOTE, CLAUSE, KEPT_QUOTE, NEW, REMOVED


def _fresh(item):
    return FeedbackItem.objects.get(pk=item.pk)


def test_open_items_are_carried_and_their_passages_refound(file_item, publish, make_user):
    kept = file_item(quote=KEPT_QUOTE).item
    changed = file_item(quote=CHANGED_QUOTE).item
    whole = file_item().item
    gone = file_item(clause=REMOVED, quote="preset voice").item
    staff = make_user("triager", roles=("triager",))
    declined = file_item(summary="closed one").item
    feedback_transition(acting_user=staff, item=declined, action="decline", rationale="No.")

    version = publish()

    new_text = ClauseText.objects.get(version=version, anchor=CLAUSE)
    kept, changed, whole, gone = (_fresh(i) for i in (kept, changed, whole, gone))
    assert (kept.anchor_outcome, kept.anchor_confidence) == (AnchorOutcome.ANCHORED, 100)
    assert kept.current_text_id == new_text.pk
    assert new_text.plain_text[kept.current_start : kept.current_end] == KEPT_QUOTE

    assert changed.anchor_outcome == AnchorOutcome.TEXT_CHANGED
    assert 40 <= changed.anchor_confidence < 100
    assert (
        "find conflicts and ambiguities"
        in new_text.plain_text[changed.current_start : changed.current_end]
    )
    assert whole.current_text_id == new_text.pk and whole.anchor_outcome in (
        AnchorOutcome.ANCHORED,
        AnchorOutcome.TEXT_CHANGED,
    )
    assert gone.anchor_outcome == AnchorOutcome.ORPHANED and gone.current_text_id is None

    assert not Reanchoring.objects.filter(item=declined).exists()
    assert _fresh(declined).current_text_id is None
    rows = Reanchoring.objects.filter(version=version)
    assert rows.count() == FeedbackItem.objects.filter(reanchorings__version=version).count()
    row = rows.get(item=changed)
    assert (row.from_text.anchor, row.to_text_id, row.outcome) == (
        CLAUSE,
        new_text.pk,
        AnchorOutcome.TEXT_CHANGED,
    )
    events = Event.objects.filter(action=CARRIED_ACTION, data__version=NEW)
    assert events.count() == rows.count()
    event = events.get(data__tracking_number=changed.tracking_number)
    assert event.data["outcome"] == "text_changed" and event.data["to_clause"] == CLAUSE
    assert event.visibility == "public"
    assert any(step.startswith("feedback") for step, _d, _t in version.steps)


def test_publishing_twice_from_the_same_state_carries_each_item_once(file_item, publish):
    from feedback.carry import feedback_carry

    item = file_item(quote=KEPT_QUOTE).item
    version = publish()
    again = feedback_carry(version=version, previous=version.parent)
    assert again.total == 0
    assert Reanchoring.objects.filter(item=item).count() == 1


def test_internal_and_hidden_items_are_carried_with_internal_events(file_item, publish, make_user):
    staff = make_user("insider", roles=("reviewer",), is_staff=True)
    internal = file_item(user=staff, visibility="internal", summary="secret canary").item
    version = publish()
    internal = _fresh(internal)
    assert internal.current_text.version_id == version.pk
    event = Event.objects.get(action=CARRIED_ACTION, data__tracking_number=internal.tracking_number)
    assert event.visibility == "internal"


def test_accepted_items_linked_to_an_applied_proposal_become_incorporated(
    file_item, publish, draft, current, accept, make_user, client
):
    item = accept(file_item(quote=CHANGED_QUOTE).item)
    unlinked = accept(file_item(quote=KEPT_QUOTE, summary="other").item)
    author = make_user("author", roles=("editor",))
    proposal = ChangeProposal.objects.create(
        spec=current.spec,
        operation=ChangeProposal.Operation.EDIT,
        state=ChangeProposal.State.APPLIED,
        base_version=current,
        base_text=current.clause_texts.get(anchor=CLAUSE),
        rationale="Clearer.",
        author=author,
        draft=draft,
        applied_anchor=CLAUSE,
    )
    ProposalLink.objects.create(item=item, proposal=proposal)

    publish()

    item, unlinked = _fresh(item), _fresh(unlinked)
    assert item.state == State.INCORPORATED
    assert NEW in item.resolution and CLAUSE in item.resolution
    assert unlinked.state == State.ACCEPTED
    assert Event.objects.filter(
        action="feedback.incorporated", data__tracking_number=item.tracking_number
    ).exists()

    page = client.get(f"/feedback/{item.tracking_number}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"Incorporated in version {NEW}" in html
    assert "<del" in html and "<ins" in html  # the diff of its clause


def test_the_api_says_where_a_carried_item_stands(file_item, publish, client):
    """`current` in the API: the version and clause an item was carried to, and the outcome;
    null before; the clause of a removed one is null."""
    kept = file_item(quote=KEPT_QUOTE).item
    gone = file_item(clause=REMOVED, quote="preset voice").item
    url = f"/api/v1/feedback/{kept.tracking_number}/"
    assert client.get(url).json()["current"] is None

    version = publish()

    assert client.get(url).json()["current"] == {
        "version": version.label,
        "clause": CLAUSE,
        "outcome": "anchored",
        "confidence": 100,
    }
    listed = {
        row["tracking_number"]: row["current"]
        for row in client.get("/api/v1/feedback/?page_size=100").json()["results"]
    }
    assert listed[gone.tracking_number] == {
        "version": version.label,
        "clause": None,
        "outcome": "orphaned",
        "confidence": 0,
    }
