"""Draft versions: start from the published text, apply accepted proposals (surgically: the rest
of the source stays byte-identical), detect conflicts, edit clauses, upload Markdown (a bad file
changes nothing), delete; permissions and ledger events."""

from pathlib import Path

import pytest

from modelspec_site.audit.models import Event
from revisions.drafts import (
    ProposalConflicting,
    draft_apply_proposal,
    draft_delete,
    draft_edit_clause,
    draft_import_markdown,
    draft_proposals,
    draft_start,
    source_join,
    source_split,
)
from revisions.importing import SpecSyntaxError, parse_spec
from revisions.models import ChangeProposal, ClauseText, Spec, Version
from revisions.proposals import (
    RevisionConflict,
    RevisionError,
    RevisionNotAllowed,
    proposal_create,
)
from revisions.services import DEFAULT_AUTHORITY_VOCABULARY

DATA = Path(__file__).resolve().parents[2] / "data" / "model-spec"
GUIDELINE = "no_topic_off_limits"
ROOT = "no_other_objectives"
State = ChangeProposal.State
VOCABULARY = {name: rank for name, rank, _ in DEFAULT_AUTHORITY_VOCABULARY}


# --- The source cut into regions (pure) -----------------------------------------------------


def _headings(text: str):
    parsed = parse_spec(text, authority_vocabulary=VOCABULARY)
    return [(c.anchor, c.level, c.line) for c in parsed.clauses]


@pytest.mark.parametrize("label", ["2025-02-12", "2025-04-11", "2025-09-12"])
def test_split_and_join_give_back_every_byte(label):
    text = (DATA / f"{label}.md").read_text(encoding="utf-8")
    assert source_join(source_split(text, _headings(text))) == text


def test_split_and_join_keep_crlf_and_a_missing_final_newline():
    text = "# A {#a}\r\n\r\nOne.\r\n\r\n## B {#b authority=user}\r\n\r\nTwo."
    doc = source_split(text, _headings(text))
    assert source_join(doc) == text


# --- Services --------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec():
    return Spec.objects.get(slug="model-spec")


@pytest.fixture
def published(spec):
    return Version.objects.get(spec=spec, state=Version.State.PUBLISHED)


@pytest.fixture
def editor(make_user):
    return make_user("ed", roles=["editor"], is_staff=True)


@pytest.fixture
def draft(spec, editor):
    return draft_start(acting_user=editor, spec=spec, label="2099-01-01")


@pytest.fixture
def accepted(spec, published, editor):
    """accepted(operation, anchor, **fields) -> an accepted proposal against the published text
    (its review is arranged directly: reviewing is tested in test_proposals)."""

    def make(operation, anchor=None, **fields):
        base = ClauseText.objects.get(version=published, anchor=anchor) if anchor else None
        proposal = proposal_create(acting_user=editor, spec=spec, operation=operation,
                                   base_text=base, rationale="Because.", **fields)  # fmt: skip
        ChangeProposal.objects.filter(pk=proposal.pk).update(state=State.ACCEPTED)
        proposal.refresh_from_db()
        return proposal

    return make


def _text(version, anchor):
    return ClauseText.objects.filter(version=version, anchor=anchor).first()


def test_start_copies_the_published_text(draft, published, editor, spec):
    assert draft.state == Version.State.DRAFT
    assert draft.parent == published
    assert draft.source_markdown == published.source_markdown
    assert draft.clause_count == published.clause_count
    event = Event.objects.filter(action="version.draft_started").latest("seq")
    assert event.data == {"label": "2099-01-01", "parent": published.label}
    assert event.visibility == "internal"
    with pytest.raises(RevisionConflict):  # one open draft per spec
        draft_start(acting_user=editor, spec=spec, label="2099-02-02")


def test_start_refuses_bad_or_taken_labels_and_non_editors(spec, published, editor, make_user):
    with pytest.raises(RevisionError) as caught:
        draft_start(acting_user=editor, spec=spec, label="no spaces allowed")
    assert caught.value.field == "label"
    with pytest.raises(RevisionError) as caught:
        draft_start(acting_user=editor, spec=spec, label=published.label)
    assert caught.value.field == "label"
    reviewer = make_user("rev", roles=["reviewer"], is_staff=True)
    with pytest.raises(RevisionNotAllowed):
        draft_start(acting_user=reviewer, spec=spec, label="2099-03-03")
    assert not Version.objects.filter(spec=spec, state=Version.State.DRAFT).exists()


def test_apply_edit_changes_only_that_clause(draft, accepted, editor, published):
    old_body = _text(published, GUIDELINE).body_markdown
    assert published.source_markdown.count(old_body) == 1
    proposal = accepted("edit", GUIDELINE, new_body_markdown="No topic is off limits. Ever.")
    draft = draft_apply_proposal(acting_user=editor, draft=draft, proposal=proposal)
    expected = published.source_markdown.replace(old_body, "No topic is off limits. Ever.")
    assert draft.source_markdown == expected  # every other byte as it was
    assert _text(draft, GUIDELINE).body_markdown == "No topic is off limits. Ever."
    proposal.refresh_from_db()
    assert proposal.state == State.APPLIED
    assert (proposal.draft, proposal.applied_anchor) == (draft, GUIDELINE)
    assert proposal.applied_at is not None
    event = Event.objects.filter(action="proposal.applied").latest("seq")
    assert event.data["proposal"] == proposal.pk and event.visibility == "internal"
    assert Event.objects.filter(action="version.reimported", seq__lt=event.seq).exists()


def test_second_proposal_from_the_old_base_is_conflicting(draft, accepted, editor):
    first = accepted("edit", GUIDELINE, new_body_markdown="First version of the text.")
    second = accepted("edit", GUIDELINE, new_body_markdown="Second version of the text.")
    unrelated = accepted("edit", ROOT, new_body_markdown="Unrelated change.")
    statuses = {row.proposal.pk: row.status for row in draft_proposals(draft)}
    assert statuses == {first.pk: "applicable", second.pk: "applicable", unrelated.pk: "applicable"}
    draft = draft_apply_proposal(acting_user=editor, draft=draft, proposal=first)
    rows = {row.proposal.pk: row for row in draft_proposals(draft)}
    assert rows[first.pk].status == "applied"
    assert rows[second.pk].status == "conflicting"
    assert "changed in the draft" in rows[second.pk].reason
    assert rows[unrelated.pk].status == "applicable"
    source = draft.source_markdown
    with pytest.raises(ProposalConflicting) as caught:
        draft_apply_proposal(acting_user=editor, draft=draft, proposal=second)
    assert caught.value.status == 409 and "CONFLICTING" in caught.value.message
    draft.refresh_from_db()
    assert draft.source_markdown == source
    second.refresh_from_db()
    assert second.state == State.ACCEPTED and second.draft is None


def test_only_accepted_proposals_apply(draft, accepted, editor):
    proposal = accepted("edit", GUIDELINE, new_body_markdown="Text.")
    ChangeProposal.objects.filter(pk=proposal.pk).update(state=State.IN_REVIEW)
    proposal.refresh_from_db()
    with pytest.raises(RevisionConflict):
        draft_apply_proposal(acting_user=editor, draft=draft, proposal=proposal)


def test_apply_add_move_authority_and_remove(draft, accepted, editor, published):
    add = accepted("add", new_anchor="brand_new", new_heading="A brand new rule",
                   new_body_markdown="Be kind.", new_authority="user",
                   parent_anchor="chain_of_command", after_anchor=ROOT)  # fmt: skip
    draft = draft_apply_proposal(acting_user=editor, draft=draft, proposal=add)
    new = _text(draft, "brand_new")
    root = _text(draft, ROOT)
    assert new.parent.anchor == "chain_of_command" and new.level == root.level
    assert new.position == root.position + 1
    assert (new.heading, new.authority, new.body_markdown) == (
        "A brand new rule",
        "user",
        "Be kind.",
    )

    move = accepted("move", ROOT, parent_anchor="chain_of_command", after_anchor="ignore_untrusted_data")  # fmt: skip
    draft = draft_apply_proposal(acting_user=editor, draft=draft, proposal=move)
    moved = _text(draft, ROOT)
    assert moved.position == _text(draft, "ignore_untrusted_data").position + 1
    assert moved.body_markdown == _text(published, ROOT).body_markdown

    # A move takes the subsections along; their heading levels follow the new place.
    children = list(ClauseText.objects.filter(version=draft, parent__anchor="restricted_content").values_list("anchor", flat=True))  # fmt: skip
    assert len(children) >= 3
    up = accepted("move", "restricted_content", after_anchor="stay_in_bounds")
    draft = draft_apply_proposal(acting_user=editor, draft=draft, proposal=up)
    section = _text(draft, "restricted_content")
    assert (section.level, section.parent) == (1, None)
    for anchor in children:
        assert _text(draft, anchor).parent == section and _text(draft, anchor).level == 2
    assert "\n# Restricted content {#restricted_content}\n" in draft.source_markdown
    assert "\n## Don't provide information hazards {#avoid_info_hazards authority=root}\n" in draft.source_markdown  # fmt: skip
    previous_top = ClauseText.objects.filter(version=draft, level=1, position__lt=section.position).order_by("-position").first()  # fmt: skip
    assert previous_top.anchor == "stay_in_bounds"

    authority = accepted("authority", GUIDELINE, new_authority="developer")
    draft = draft_apply_proposal(acting_user=editor, draft=draft, proposal=authority)
    assert _text(draft, GUIDELINE).authority == "developer"
    assert _text(draft, GUIDELINE).body_markdown == _text(published, GUIDELINE).body_markdown

    remove = accepted("remove", "chain_of_command")
    subsections = ClauseText.objects.filter(
        version=draft, parent__anchor="chain_of_command"
    ).count()
    assert subsections > 3
    count = draft.clause_count
    draft = draft_apply_proposal(acting_user=editor, draft=draft, proposal=remove)
    assert _text(draft, "chain_of_command") is None and _text(draft, "brand_new") is None
    assert draft.clause_count < count - subsections
    remove.refresh_from_db()
    assert remove.applied_anchor == "" and remove.state == State.APPLIED


def test_edit_clause_directly(draft, editor, accepted, published):
    pending = accepted("edit", GUIDELINE, new_body_markdown="Proposed.")
    draft = draft_edit_clause(acting_user=editor, draft=draft, anchor=GUIDELINE,
                              heading="Topics", body_markdown="Edited directly.",
                              authority="user")  # fmt: skip
    text = _text(draft, GUIDELINE)
    assert (text.heading, text.body_markdown, text.authority) == (
        "Topics",
        "Edited directly.",
        "user",
    )
    event = Event.objects.filter(action="version.draft_clause_edited").latest("seq")
    assert event.data["clause"] == GUIDELINE and event.data["before"] != event.data["after"]
    # The accepted proposal on that clause no longer applies cleanly.
    rows = {row.proposal.pk: row.status for row in draft_proposals(draft)}
    assert rows[pending.pk] == "conflicting"
    # Nothing changed: no event.
    events = Event.objects.count()
    draft_edit_clause(acting_user=editor, draft=draft, anchor=GUIDELINE, heading="Topics",
                      body_markdown="Edited directly.", authority="user")  # fmt: skip
    assert Event.objects.count() == events


def test_edit_clause_refusals_leave_the_draft_alone(draft, editor, make_user):
    source = draft.source_markdown
    with pytest.raises(RevisionError) as caught:
        draft_edit_clause(acting_user=editor, draft=draft, anchor=GUIDELINE, heading="T",
                          body_markdown="Text\n# A heading {#h}", authority="")  # fmt: skip
    assert caught.value.field == "body_markdown"
    with pytest.raises(RevisionError) as caught:
        draft_edit_clause(acting_user=editor, draft=draft, anchor=GUIDELINE, heading="T",
                          body_markdown="Text", authority="sovereign")  # fmt: skip
    assert caught.value.field == "authority"
    with pytest.raises(RevisionError) as caught:  # an unclosed fence: the parser names the line
        draft_edit_clause(acting_user=editor, draft=draft, anchor=GUIDELINE, heading="T",
                          body_markdown="**Example**: broken\n\n~~~xml\n<user>hi", authority="")  # fmt: skip
    assert "line" in caught.value.message
    with pytest.raises(RevisionNotAllowed):
        draft_edit_clause(acting_user=make_user("r", roles=["reviewer"], is_staff=True),
                          draft=draft, anchor=GUIDELINE, heading="T", body_markdown="X",
                          authority="")  # fmt: skip
    draft.refresh_from_db()
    assert draft.source_markdown == source


def test_import_markdown(draft, editor):
    before = (draft.source_hash, draft.clause_count, Event.objects.count())
    bad = b"# One {#one}\n\nText.\n\n### Jump {#jump}\n\nToo deep.\n"
    with pytest.raises(SpecSyntaxError) as caught:
        draft_import_markdown(acting_user=editor, draft=draft, data=bad)
    assert caught.value.line == 5
    draft.refresh_from_db()
    assert (draft.source_hash, draft.clause_count, Event.objects.count()) == before
    good = b"# One {#one}\n\nText.\n\n## Two {#two authority=user}\n\nMore.\n"
    draft = draft_import_markdown(acting_user=editor, draft=draft, data=good)
    assert draft.source_markdown == good.decode() and draft.clause_count == 2
    assert Event.objects.filter(action="version.reimported").latest("seq").actor_label == "ed"


def test_delete_returns_applied_proposals(draft, accepted, editor, spec, published):
    proposal = accepted("edit", GUIDELINE, new_body_markdown="Applied then returned.")
    draft = draft_apply_proposal(acting_user=editor, draft=draft, proposal=proposal)
    draft_delete(acting_user=editor, draft=draft)
    assert not Version.objects.filter(pk=draft.pk).exists()
    proposal.refresh_from_db()
    assert (proposal.state, proposal.draft, proposal.applied_anchor) == (State.ACCEPTED, None, "")
    event = Event.objects.filter(action="version.draft_deleted").latest("seq")
    assert event.data["proposals_returned"] == [proposal.pk]
    with pytest.raises(RevisionConflict):  # published text is never deleted
        draft_delete(acting_user=editor, draft=published)
    # A new draft can start now; the proposal applies to it again.
    again = draft_start(acting_user=editor, spec=spec, label="2099-04-04")
    assert {r.proposal.pk: r.status for r in draft_proposals(again)}[proposal.pk] == "applicable"
