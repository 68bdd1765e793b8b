"""Change proposals: editors draft them, reviewers review them, accepted ones wait for a draft.

Every service runs in one transaction, locks the proposal it changes and records its ledger
event (internal: proposals are staff work) in that transaction. Refusals are `RevisionError`s
with a message, the field they concern, a stable `code` and an HTTP `status` (400 bad input,
403 not allowed, 409 not possible in the proposal's state).

Review follows the approval rule of feedback (`hooks.accepts_required`, by authority rank):
a proposal is accepted as soon as enough distinct reviewers accept it in the current review
round. One reviewer's decline, with its rationale, closes it as declined: proposals are cheap
to redraft, and a change to the spec should not go ahead over a reasoned objection. An author
may not accept (or decline) their own proposal; anyone may recuse. Changing a proposal while it
is in review starts a new round, so earlier positions no longer count.

The rank that sets the rule is the one of the clause changed (its parent's for an addition);
where the change itself gives a clause more authority (an authority change, an addition with
an authority word), the higher of the two counts, so raising a clause to `root` needs what
a root clause needs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from modelspec_site.accounts.roles import EDITOR, REVIEWER, has_role
from modelspec_site.audit.models import Visibility
from modelspec_site.audit.services import audit_record
from modelspec_site.errors import ServiceError

from . import hooks
from .models import ChangeProposal, ClauseText, ProposalPosition, Spec, Version

Operation = ChangeProposal.Operation
State = ChangeProposal.State
Position = ProposalPosition.Position

ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_:.-]{0,127}$")  # the parser's rule for {#id}
MAX_LEVEL = 4
RATIONALE_MAX = 5000
BODY_MAX = 200_000
HEADING_MAX = 500
OPEN_STATES = (State.IN_REVIEW, State.ACCEPTED)


class RevisionError(ServiceError):
    """The revisions app's refusals (proposals and drafts)."""


class RevisionNotAllowed(RevisionError):
    code = "permission_denied"
    status = 403


class RevisionConflict(RevisionError):
    """Not possible in the current state (the proposal or draft moved on, or never could)."""

    code = "state_conflict"
    status = 409


# --- Reads ---------------------------------------------------------------------------------


def published_version(spec: Spec) -> Version | None:
    return Version.objects.filter(spec=spec, state=Version.State.PUBLISHED).first()


def proposal_rank(proposal: ChangeProposal) -> int | None:
    """The authority rank whose approval rule the proposal follows (lower = more authority)."""
    ranks: list[int] = []
    if proposal.base_text_id is not None:
        ranks.append(proposal.base_text.authority_rank)
    elif proposal.operation == Operation.ADD:
        parent = _place_parent(proposal.base_version, proposal.parent_anchor, proposal.after_anchor)
        if parent is not None:
            ranks.append(parent.authority_rank)
    if proposal.new_authority and proposal.operation in (Operation.AUTHORITY, Operation.ADD):
        level = proposal.spec.authority_levels.filter(name=proposal.new_authority).first()
        if level is not None:
            ranks.append(level.rank)
    known = [r for r in ranks if r is not None]
    return min(known) if known else None


@dataclass(frozen=True)
class Approval:
    required: int
    accepting: tuple[str, ...]
    declining: tuple[str, ...]
    recused: tuple[str, ...]

    @property
    def met(self) -> bool:
        return len(self.accepting) >= self.required


def proposal_approval(proposal: ChangeProposal) -> Approval:
    """Where the current review round stands against the approval rule."""
    rows = list(
        ProposalPosition.objects.filter(
            proposal=proposal, review_round=proposal.review_round
        ).values_list("reviewer__username", "position")
    )

    def names(position: str) -> tuple[str, ...]:
        return tuple(sorted(name for name, pos in rows if pos == position))

    return Approval(
        required=hooks.accepts_required(proposal.spec_id, proposal_rank(proposal)),
        accepting=names(Position.ACCEPT),
        declining=names(Position.DECLINE),
        recused=names(Position.RECUSE),
    )


def may_edit(user, proposal: ChangeProposal) -> bool:
    return proposal.state == State.IN_REVIEW and has_role(user, EDITOR)


# --- Validation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fields:
    base_text: ClauseText | None
    new_anchor: str
    new_heading: str
    new_body_markdown: str
    new_authority: str
    parent_anchor: str
    after_anchor: str
    rationale: str


def _texts(version: Version) -> dict[str, ClauseText]:
    return {t.anchor: t for t in ClauseText.objects.filter(version=version).order_by("position")}


def _place_parent(version: Version, parent_anchor: str, after_anchor: str) -> ClauseText | None:
    """The clause a new or moved clause goes under (None: the top level)."""
    if parent_anchor:
        return ClauseText.objects.filter(version=version, anchor=parent_anchor).first()
    if after_anchor:
        after = (
            ClauseText.objects.filter(version=version, anchor=after_anchor)
            .select_related("parent")
            .first()
        )
        return after.parent if after is not None else None
    return None


def _subtree_depth(text: ClauseText, texts: dict[str, ClauseText]) -> int:
    """How many levels the clause and its subsections span (1 for a clause without any)."""
    ordered = sorted(texts.values(), key=lambda t: t.position)
    deepest = text.level
    for other in ordered:
        if other.position <= text.position:
            continue
        if other.level <= text.level:
            break
        deepest = max(deepest, other.level)
    return deepest - text.level + 1


def _validate_place(
    *,
    texts: dict[str, ClauseText],
    parent_anchor: str,
    after_anchor: str,
    moving: ClauseText | None,
    depth: int,
) -> None:
    """A place is `parent_anchor` (empty: the top level) and `after_anchor`, the sibling it
    follows (empty: first under its parent). At least one must be given."""
    if not parent_anchor and not after_anchor:
        raise RevisionError(
            "Say where the clause goes: under which clause, after which clause, or both.",
            field="parent_anchor",
        )
    parent = None
    if parent_anchor:
        parent = texts.get(parent_anchor)
        if parent is None:
            raise RevisionError(f"There is no clause #{parent_anchor}.", field="parent_anchor")
    if after_anchor:
        after = texts.get(after_anchor)
        if after is None:
            raise RevisionError(f"There is no clause #{after_anchor}.", field="after_anchor")
        after_parent = next((t for t in texts.values() if t.pk == after.parent_id), None)
        if parent_anchor and (after_parent is None or after_parent.anchor != parent_anchor):
            raise RevisionError(
                f"#{after_anchor} is not directly under #{parent_anchor}.", field="after_anchor"
            )
        parent = after_parent
    level = (parent.level if parent is not None else 0) + 1
    if level + depth - 1 > MAX_LEVEL:
        raise RevisionError(
            f"That place is too deep: headings go down to level {MAX_LEVEL}.",
            field="parent_anchor",
        )
    if moving is not None:
        ancestor = parent
        by_pk = {t.pk: t for t in texts.values()}
        while ancestor is not None:
            if ancestor.pk == moving.pk:
                raise RevisionError(
                    "A clause cannot move under itself or its own subsections.",
                    field="parent_anchor",
                )
            ancestor = by_pk.get(ancestor.parent_id)
        if after_anchor == moving.anchor:
            raise RevisionError("A clause cannot follow itself.", field="after_anchor")
        current_after = _previous_sibling(moving, texts)
        same_parent = (parent.pk if parent else None) == moving.parent_id
        if same_parent and (current_after.anchor if current_after else "") == after_anchor:
            raise RevisionError("The clause is already there.", field="after_anchor")


def _previous_sibling(text: ClauseText, texts: dict[str, ClauseText]) -> ClauseText | None:
    siblings = [
        t for t in texts.values() if t.parent_id == text.parent_id and t.position < text.position
    ]
    return max(siblings, key=lambda t: t.position) if siblings else None


def _vocabulary(spec: Spec) -> set[str]:
    return set(spec.authority_levels.values_list("name", flat=True))


def _clean(spec: Spec, base_version: Version, operation: str, fields: _Fields) -> _Fields:
    """Check the fields an operation needs; return them tidied (what is not used, emptied)."""
    if operation not in Operation.values:
        raise RevisionError("Choose an operation.", field="operation")
    rationale = (fields.rationale or "").strip()
    if not rationale:
        raise RevisionError("Give the rationale for this change.", field="rationale")
    if len(rationale) > RATIONALE_MAX:
        raise RevisionError(
            f"Keep the rationale under {RATIONALE_MAX} characters.", field="rationale"
        )
    heading = (fields.new_heading or "").strip()
    # Browsers send a textarea's line ends as CRLF: store LF, as the spec's Markdown has.
    body = (fields.new_body_markdown or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if len(heading) > HEADING_MAX or "\n" in heading:
        raise RevisionError(
            f"A heading is one line of at most {HEADING_MAX} characters.", field="new_heading"
        )
    if "{" in heading or "}" in heading:
        raise RevisionError("A heading cannot contain { or }.", field="new_heading")
    if len(body) > BODY_MAX:
        raise RevisionError(
            f"Keep the text under {BODY_MAX} characters.", field="new_body_markdown"
        )
    if re.search(r"^#{1,6}(\s|$)", body, flags=re.MULTILINE):
        raise RevisionError(
            "The text may not contain headings (# lines): propose a new clause instead.",
            field="new_body_markdown",
        )
    base = fields.base_text
    if operation != Operation.ADD:
        if base is None:
            raise RevisionError("Choose the clause to change.", field="base_text")
        if base.version_id != base_version.pk:
            raise RevisionError("Proposals change the published version's text.", field="base_text")
    texts = _texts(base_version)
    empty = dict.fromkeys(
        (
            "new_anchor",
            "new_heading",
            "new_body_markdown",
            "new_authority",
            "parent_anchor",
            "after_anchor",
        ),
        "",
    )
    if operation == Operation.EDIT:
        heading = heading or base.heading
        if not body.strip() and base.body_markdown.strip():
            raise RevisionError(
                "The proposed text is empty (to remove the clause, propose a removal).",
                field="new_body_markdown",
            )
        if heading == base.heading and body == base.body_markdown.strip("\n"):
            raise RevisionError(
                "The proposed text is the same as the current text.", field="new_body_markdown"
            )
        return _Fields(
            **(empty | {"new_heading": heading, "new_body_markdown": body}),
            base_text=base,
            rationale=rationale,
        )
    if operation == Operation.REMOVE:
        return _Fields(**empty, base_text=base, rationale=rationale)
    if operation == Operation.AUTHORITY:
        word = (fields.new_authority or "").strip()
        if word not in _vocabulary(spec):
            allowed = ", ".join(sorted(_vocabulary(spec)))
            raise RevisionError(
                f"Choose a word of this spec's authority vocabulary ({allowed}).",
                field="new_authority",
            )
        if word == base.authority:
            raise RevisionError(
                f"#{base.anchor} already has authority '{word}'.", field="new_authority"
            )
        return _Fields(**(empty | {"new_authority": word}), base_text=base, rationale=rationale)
    parent_anchor = (fields.parent_anchor or "").strip().lstrip("#")
    after_anchor = (fields.after_anchor or "").strip().lstrip("#")
    if operation == Operation.MOVE:
        _validate_place(
            texts=texts,
            parent_anchor=parent_anchor,
            after_anchor=after_anchor,
            moving=base,
            depth=_subtree_depth(base, texts),
        )
        return _Fields(
            **(empty | {"parent_anchor": parent_anchor, "after_anchor": after_anchor}),
            base_text=base,
            rationale=rationale,
        )
    # Operation.ADD
    anchor = (fields.new_anchor or "").strip().lstrip("#")
    if not ID_RE.match(anchor):
        raise RevisionError(
            "The new clause needs an id: a letter, then letters, digits, _ : . or -.",
            field="new_anchor",
        )
    if anchor in texts:
        raise RevisionError(
            f"#{anchor} is already used in version {base_version.label}.", field="new_anchor"
        )
    if not heading:
        raise RevisionError("The new clause needs a heading.", field="new_heading")
    word = (fields.new_authority or "").strip()
    if word and word not in _vocabulary(spec):
        raise RevisionError(
            f"'{word}' is not in this spec's authority vocabulary.", field="new_authority"
        )
    _validate_place(
        texts=texts, parent_anchor=parent_anchor, after_anchor=after_anchor, moving=None, depth=1
    )
    return _Fields(
        base_text=None,
        new_anchor=anchor,
        new_heading=heading,
        new_body_markdown=body,
        new_authority=word,
        parent_anchor=parent_anchor,
        after_anchor=after_anchor,
        rationale=rationale,
    )


def _summary(proposal: ChangeProposal) -> dict:
    return {
        "proposal": proposal.pk,
        "operation": proposal.operation,
        "state": proposal.state,
        "round": proposal.review_round,
        "base_version": proposal.base_version.label,
        "clause": proposal.base_text.anchor if proposal.base_text_id else proposal.new_anchor,
        "base_hash": proposal.base_hash,
    }


def _locked(proposal: ChangeProposal) -> ChangeProposal:
    return (
        ChangeProposal.objects.select_for_update(of=("self",))
        .select_related("spec", "base_version", "base_text")
        .get(pk=proposal.pk)
    )


# --- Writes --------------------------------------------------------------------------------


def proposal_create(
    *,
    acting_user,
    spec: Spec,
    operation: str,
    base_text: ClauseText | None = None,
    new_anchor: str = "",
    new_heading: str = "",
    new_body_markdown: str = "",
    new_authority: str = "",
    parent_anchor: str = "",
    after_anchor: str = "",
    rationale: str,
) -> ChangeProposal:
    """An editor drafts a change to the spec's published version; it goes into review."""
    if not has_role(acting_user, EDITOR):
        raise RevisionNotAllowed("Only editors draft change proposals.")
    base_version = published_version(spec)
    if base_version is None:
        raise RevisionConflict("The spec has no published version to change yet.")
    fields = _clean(
        spec,
        base_version,
        operation,
        _Fields(
            base_text=base_text,
            new_anchor=new_anchor,
            new_heading=new_heading,
            new_body_markdown=new_body_markdown,
            new_authority=new_authority,
            parent_anchor=parent_anchor,
            after_anchor=after_anchor,
            rationale=rationale,
        ),
    )
    with transaction.atomic():
        proposal = ChangeProposal.objects.create(
            spec=spec,
            operation=operation,
            base_version=base_version,
            base_hash=fields.base_text.content_hash if fields.base_text else "",
            author=acting_user,
            **fields.__dict__,
        )
        audit_record(
            actor=acting_user,
            action="proposal.created",
            subjects=[spec, proposal],
            visibility=Visibility.INTERNAL,
            data=_summary(proposal) | {"rationale": proposal.rationale},
        )
    return proposal


EDITABLE = (
    "base_text",
    "new_anchor",
    "new_heading",
    "new_body_markdown",
    "new_authority",
    "parent_anchor",
    "after_anchor",
    "rationale",
)


def proposal_update(*, acting_user, proposal: ChangeProposal, **changes) -> ChangeProposal:
    """The author (or any editor) changes a proposal in review. Any change starts a new review
    round: positions taken on the earlier text no longer count. The operation stays."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"proposal_update() got unexpected fields {sorted(unknown)}")
    if not has_role(acting_user, EDITOR):
        raise RevisionNotAllowed("Only editors change proposals.")
    with transaction.atomic():
        proposal = _locked(proposal)
        if proposal.state != State.IN_REVIEW:
            raise RevisionConflict(
                f"The proposal is {proposal.get_state_display().lower()}; "
                "only proposals in review can change."
            )
        current = {name: getattr(proposal, name) for name in EDITABLE}
        fields = _clean(
            proposal.spec, proposal.base_version, proposal.operation, _Fields(**(current | changes))
        )
        after = fields.__dict__
        changed = sorted(
            name
            for name in EDITABLE
            if (after[name].pk if name == "base_text" and after[name] else after[name])
            != (current[name].pk if name == "base_text" and current[name] else current[name])
        )
        if not changed:
            return proposal
        for name, value in after.items():
            setattr(proposal, name, value)
        proposal.base_hash = proposal.base_text.content_hash if proposal.base_text else ""
        proposal.review_round += 1
        proposal.save()
        audit_record(
            actor=acting_user,
            action="proposal.updated",
            subjects=[proposal.spec, proposal],
            visibility=Visibility.INTERNAL,
            data=_summary(proposal) | {"changed": changed},
        )
    return proposal


def proposal_position(
    *, acting_user, proposal: ChangeProposal, position: str, rationale: str = ""
) -> ChangeProposal:
    """A reviewer accepts, declines or recuses in the current round (again: replaces their
    earlier position in this round). Enough accepts make the proposal accepted; a decline
    makes it declined. Returns the proposal as it now stands."""
    if not has_role(acting_user, REVIEWER, EDITOR):
        raise RevisionNotAllowed("Only reviewers record positions on proposals.")
    if position not in Position.values:
        raise RevisionError("Choose accept, decline or recuse.", field="position")
    rationale = (rationale or "").strip()
    if len(rationale) > RATIONALE_MAX:
        raise RevisionError(
            f"Keep the rationale under {RATIONALE_MAX} characters.", field="rationale"
        )
    if position != Position.RECUSE and not rationale:
        raise RevisionError("Give the reason for your position.", field="rationale")
    with transaction.atomic():
        proposal = _locked(proposal)
        if proposal.state != State.IN_REVIEW:
            raise RevisionConflict(
                f"The proposal is {proposal.get_state_display().lower()}; "
                "positions are recorded while it is in review."
            )
        if proposal.author_id == acting_user.pk and position != Position.RECUSE:
            raise RevisionNotAllowed(
                "You drafted this proposal: another reviewer must review it "
                "(withdraw it if you no longer want it)."
            )
        ProposalPosition.objects.update_or_create(
            proposal=proposal,
            reviewer=acting_user,
            review_round=proposal.review_round,
            defaults={"position": position, "rationale": rationale},
        )
        audit_record(
            actor=acting_user,
            action="proposal.position_recorded",
            subjects=[proposal.spec, proposal],
            visibility=Visibility.INTERNAL,
            data=_summary(proposal) | {"position": position, "rationale": rationale},
        )
        approval = proposal_approval(proposal)
        outcome = None
        if position == Position.DECLINE:
            outcome = State.DECLINED
        elif approval.met:
            outcome = State.ACCEPTED
        if outcome is not None:
            proposal.state = outcome
            proposal.save(update_fields=["state", "updated_at"])
            audit_record(
                actor=acting_user,
                action=f"proposal.{outcome}",
                subjects=[proposal.spec, proposal],
                visibility=Visibility.INTERNAL,
                data=_summary(proposal)
                | {
                    "accepting": list(approval.accepting),
                    "required": approval.required,
                    "rationale": rationale,
                },
            )
    return proposal


def proposal_withdraw(
    *, acting_user, proposal: ChangeProposal, rationale: str = ""
) -> ChangeProposal:
    """The author or an editor withdraws a proposal that is in review or accepted (not yet
    applied to a draft)."""
    if not has_role(acting_user, EDITOR) and proposal.author_id != acting_user.pk:
        raise RevisionNotAllowed("Only the author or an editor withdraws a proposal.")
    with transaction.atomic():
        proposal = _locked(proposal)
        if proposal.state not in OPEN_STATES:
            raise RevisionConflict(
                f"The proposal is {proposal.get_state_display().lower()}; "
                "only proposals in review or accepted can be withdrawn."
            )
        proposal.state = State.WITHDRAWN
        proposal.save(update_fields=["state", "updated_at"])
        audit_record(
            actor=acting_user,
            action="proposal.withdrawn",
            subjects=[proposal.spec, proposal],
            visibility=Visibility.INTERNAL,
            data=_summary(proposal) | {"rationale": (rationale or "").strip()},
        )
    return proposal


def proposal_mark_applied(
    *, proposal: ChangeProposal, draft: Version, applied_anchor: str
) -> ChangeProposal:
    """(For `drafts`, inside its transaction.) The proposal now stands in `draft`."""
    proposal.state = State.APPLIED
    proposal.draft = draft
    proposal.applied_anchor = applied_anchor
    proposal.applied_at = timezone.now()
    proposal.save(update_fields=["state", "draft", "applied_anchor", "applied_at", "updated_at"])
    return proposal
