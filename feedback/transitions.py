"""Services of the triage and review workflow. Each one: lock the item's row, check the table
(`feedback.workflow`) and the actor's permission, change, record the ledger event, and queue
notifications through the outbox, all in one transaction. Messages leave after commit.

An illegal action, or one drawn for a state the item has left since (`expected_state`), raises
TransitionConflict (HTTP 409) and changes nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from modelspec_site.accounts.roles import (
    EDITOR,
    REVIEWER,
    TRIAGER,
    has_role,
    is_staff_member,
)
from modelspec_site.audit.services import audit_record
from revisions import pagecache

from . import workflow
from .errors import ApprovalPending, FeedbackError, NotAllowed, TransitionConflict
from .models import (
    Decision,
    Endorsement,
    FeedbackItem,
    Label,
    Note,
    Position,
    PreparedDecision,
    ReviewPolicy,
    State,
    Subscription,
    Transition,
    Visibility,
)

RATIONALE_MAX = 5_000
NOTE_MAX = 20_000
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
# Authority ranks whose clauses need two distinct reviewers' accepts by default:
# 0 = root (platform in early versions), 1 = system.
DEFAULT_TWO_REVIEWER_RANKS = (0, 1)


def _actor_label(user) -> str:
    return user.get_username() if getattr(user, "is_authenticated", False) else "anonymous"


def _user_or_none(user):
    return user if getattr(user, "is_authenticated", False) else None


def _notify(kind: str, *, item: FeedbackItem, event, **context) -> None:
    from . import notifications

    notifications.notify(kind, item=item, event=event, **context)


# --- The approval rule -----------------------------------------------------------------------


def policy_for(spec_id: int) -> tuple[dict[str, int], int]:
    """(accepts by authority rank, default) for a spec; the built-in rule when none is set."""
    policy = ReviewPolicy.objects.filter(spec_id=spec_id).first()
    if policy is None:
        return {str(rank): 2 for rank in DEFAULT_TWO_REVIEWER_RANKS}, 1
    return {str(k): int(v) for k, v in policy.accepts_by_rank.items()}, policy.default_accepts


def accepts_required_for(spec_id: int, rank: int | None) -> int:
    by_rank, default = policy_for(spec_id)
    return by_rank.get(str(rank), default) if rank is not None else default


def accepts_required(item: FeedbackItem) -> int:
    return accepts_required_for(item.spec_id, item.clause_text.authority_rank)


@dataclass(frozen=True)
class ApprovalStatus:
    required: int
    accepting: tuple[str, ...]  # usernames of reviewers whose position is accept, this round
    recused: tuple[str, ...]

    @property
    def met(self) -> bool:
        return len(self.accepting) >= self.required


def approval_status(item: FeedbackItem) -> ApprovalStatus:
    rows = Decision.objects.filter(item=item, review_round=item.review_round).values_list(
        "reviewer__username", "position"
    )
    accepting = tuple(sorted(name for name, pos in rows if pos == Position.ACCEPT))
    recused = tuple(sorted(name for name, pos in rows if pos == Position.RECUSE))
    return ApprovalStatus(accepts_required(item), accepting, recused)


def review_policy_set(*, acting_user, spec, accepts_by_rank: dict, default_accepts: int):
    """Editors change how many accepts each authority rank needs, for one spec."""
    if not has_role(acting_user, EDITOR):
        raise NotAllowed("Only editors change the approval rule.")
    cleaned = {}
    for rank, count in accepts_by_rank.items():
        try:
            rank_i, count_i = int(rank), int(count)
        except (TypeError, ValueError):
            raise FeedbackError("Ranks and counts must be whole numbers.") from None
        if not (0 <= rank_i <= 100 and 1 <= count_i <= 10):
            raise FeedbackError("Each rank needs between 1 and 10 accepts.")
        cleaned[str(rank_i)] = count_i
    if not 1 <= int(default_accepts) <= 10:
        raise FeedbackError("The default needs between 1 and 10 accepts.")
    with transaction.atomic():
        policy, _ = ReviewPolicy.objects.select_for_update().get_or_create(spec=spec)
        before = {"accepts_by_rank": policy.accepts_by_rank, "default": policy.default_accepts}
        policy.accepts_by_rank, policy.default_accepts = cleaned, int(default_accepts)
        policy.save()
        audit_record(
            actor=acting_user,
            action="review_policy.changed",
            subjects=[spec],
            data={
                "before": before,
                "after": {"accepts_by_rank": cleaned, "default": int(default_accepts)},
            },
        )
    return policy


# --- Transitions -----------------------------------------------------------------------------


def _locked(item: FeedbackItem) -> FeedbackItem:
    return (
        FeedbackItem.objects.select_for_update(of=("self",))
        .select_related("clause_text", "version", "spec")
        .get(pk=item.pk)
    )


def is_submitter(user, item: FeedbackItem, *, follow_token_ok: bool = False) -> bool:
    """The person who filed `item`: their account, or a valid private follow link
    (`follow_token_ok`, checked by the caller against the stored hash)."""
    if follow_token_ok:
        return True
    return bool(getattr(user, "is_authenticated", False) and item.submitter_id == user.pk)


def feedback_transition(
    *,
    acting_user,
    item: FeedbackItem,
    action: str,
    expected_state: str | None = None,
    rationale: str = "",
    duplicate_of: FeedbackItem | None = None,
    message: str = "",
    follow_token_ok: bool = False,
    system: bool = False,
) -> FeedbackItem:
    """Move `item` through the workflow. Raises TransitionConflict (illegal or stale),
    NotAllowed (the actor may not), ApprovalPending (accept without enough accepts) or
    FeedbackError (something required is missing)."""
    spec = workflow.action_get(action)
    if spec is None:
        raise TransitionConflict(f"There is no action '{action}'.", field="action")
    rationale = (rationale or "").strip()
    message = (message or "").strip()
    if len(rationale) > RATIONALE_MAX:
        raise FeedbackError(
            f"Keep the rationale under {RATIONALE_MAX} characters.", field="rationale"
        )
    if len(message) > NOTE_MAX:
        raise FeedbackError(f"Keep the message under {NOTE_MAX} characters.", field="message")

    with transaction.atomic():
        item = _locked(item)
        if expected_state is not None and item.state != expected_state:
            raise TransitionConflict(
                f"This item is now '{item.get_state_display()}': someone else acted on it "
                "first. Reload it and try again.",
                field="state",
            )
        if not spec.allows(item.state):
            raise TransitionConflict(
                f"'{spec.label}' is not possible while the item is '{item.get_state_display()}'.",
                field="action",
            )
        actors = workflow.actors_of(
            acting_user,
            is_submitter=is_submitter(acting_user, item, follow_token_ok=follow_token_ok),
        )
        if system:
            actors = actors | {workflow.SYSTEM}
        if not workflow.may(spec, item.state, actors):
            raise NotAllowed("You may not take this action on this item.", field="action")
        if workflow.RATIONALE in spec.requires and not rationale:
            raise FeedbackError("Give the public rationale for this decision.", field="rationale")
        if workflow.MESSAGE in spec.requires and not message:
            raise FeedbackError("Write the message.", field="message")
        if workflow.DUPLICATE_OF in spec.requires:
            _check_duplicate_target(item, duplicate_of)
        elif duplicate_of is not None:
            # Otherwise the ledger would record an original that nothing points to.
            raise FeedbackError("Only marking a duplicate names an original.", field="duplicate_of")
        if workflow.APPROVAL in spec.requires:
            status = approval_status(item)
            if not status.met:
                raise ApprovalPending(
                    f"Accepting this item needs {status.required} reviewers' accepts; "
                    f"{len(status.accepting)} recorded.",
                    field="action",
                )
        return _apply(
            acting_user=acting_user,
            item=item,
            spec=spec,
            rationale=rationale,
            duplicate_of=duplicate_of,
            message=message,
        )


def _check_duplicate_target(item: FeedbackItem, original: FeedbackItem | None) -> None:
    if original is None:
        raise FeedbackError("Name the item this one duplicates.", field="duplicate_of")
    if original.pk == item.pk:
        raise FeedbackError("An item cannot duplicate itself.", field="duplicate_of")
    if original.spec_id != item.spec_id:
        raise FeedbackError("The original must be feedback on the same spec.", field="duplicate_of")
    if item.is_public and not original.is_public:
        raise FeedbackError("A public item cannot point to an internal one.", field="duplicate_of")
    if original.state == State.DUPLICATE:
        raise FeedbackError(
            "That item is itself a duplicate; name its original.", field="duplicate_of"
        )


def _apply(*, acting_user, item, spec, rationale, duplicate_of, message) -> FeedbackItem:
    before = item.state
    now = timezone.now()
    item.state = spec.target
    item.state_changed_at = now
    fields = ["state", "state_changed_at", "updated_at"]
    if workflow.is_closed(spec.target) or spec.target == State.ACCEPTED:
        item.resolution = rationale
        fields.append("resolution")
    if spec.name == "reopen":
        item.review_round = F("review_round") + 1
        item.resolution = ""
        fields += ["review_round", "resolution"]
    if spec.name == "mark_duplicate":
        item.duplicate_of = duplicate_of
        fields.append("duplicate_of")
    item.save(update_fields=sorted(set(fields)))
    item.refresh_from_db(fields=["review_round"])
    user = _user_or_none(acting_user)
    note = None
    if message:
        note = Note.objects.create(
            item=item,
            # On an internal item every message stays internal, like the item itself.
            kind=Note.Kind.INTERNAL
            if not item.is_public
            else Note.Kind.SUBMITTER_REPLY
            if spec.name == "provide_info"
            else Note.Kind.PUBLIC_REPLY,
            author=user,
            author_label=_actor_label(acting_user) if user else "submitter",
            body=message,
        )
    # The public timeline shows public items' transitions; the row's visibility follows the item.
    event = audit_record(
        actor="system"
        if spec.target == State.INCORPORATED and user is None
        else (user or "anonymous"),
        action=spec.event,
        subjects=[item] + ([duplicate_of] if duplicate_of else []),
        visibility=item.visibility,
        data={
            "tracking_number": item.tracking_number,
            "from": before,
            "to": spec.target,
            "rationale": rationale,
            **({"duplicate_of": duplicate_of.tracking_number} if duplicate_of else {}),
            **({"message": message} if message else {}),
        },
    )
    Transition.objects.create(
        item=item,
        action=spec.name,
        from_state=before,
        to_state=spec.target,
        actor=user,
        actor_label=_actor_label(acting_user)
        if user
        else ("system" if spec.name == "incorporate" else "submitter"),
        rationale=rationale,
        event_seq=event.seq,
    )
    PreparedDecision.objects.filter(item=item).delete()
    if spec.name == "mark_duplicate":
        _merge_into(item, duplicate_of)
    if item.is_public:
        pagecache.bump()
    _notify("transition", item=item, event=event, action=spec.name, note=note)
    return item


def _merge_into(duplicate: FeedbackItem, original: FeedbackItem) -> None:
    """Endorsements and followers of a duplicate move to its original (each person once)."""
    original = FeedbackItem.objects.select_for_update().get(pk=original.pk)
    # Set-based: the duplicate's endorsements by people who have not endorsed the original
    # move over in one UPDATE (the others stay where they are).
    on_original = Endorsement.objects.filter(item=original)
    moved = (
        Endorsement.objects.filter(item=duplicate)
        .exclude(user__in=on_original.filter(user__isnull=False).values("user"))
        .exclude(
            user__isnull=True,
            anonymous_key_hash__in=on_original.filter(user__isnull=True).values(
                "anonymous_key_hash"
            ),
        )
        .update(item=original)
    )
    if moved:
        FeedbackItem.objects.filter(pk=original.pk).update(
            endorsement_count=F("endorsement_count") + moved
        )
        FeedbackItem.objects.filter(pk=duplicate.pk).update(
            endorsement_count=F("endorsement_count") - moved
        )
    # Followers: whoever already follows the original is dropped from the duplicate; the rest
    # move over.
    on_original = Subscription.objects.filter(item=original, email=OuterRef("email"))
    theirs = Subscription.objects.filter(item=duplicate)
    theirs.filter(Exists(on_original.filter(user=OuterRef("user"))), user__isnull=False).delete()
    theirs.filter(Exists(on_original.filter(user__isnull=True)), user__isnull=True).delete()
    theirs.update(item=original)


# --- Decisions -------------------------------------------------------------------------------


def decision_record(
    *, acting_user, item: FeedbackItem, position: str, rationale: str = ""
) -> Decision:
    """A reviewer's position (accept, decline, defer) or recusal, for the item's current review
    round. Recording again replaces the reviewer's earlier position in this round."""
    if not has_role(acting_user, REVIEWER, EDITOR):
        raise NotAllowed("Only reviewers record decisions.")
    if position not in Position.values:
        raise FeedbackError("Choose accept, decline, defer or recuse.", field="position")
    rationale = (rationale or "").strip()
    if len(rationale) > RATIONALE_MAX:
        raise FeedbackError(
            f"Keep the rationale under {RATIONALE_MAX} characters.", field="rationale"
        )
    if position != Position.RECUSE and not rationale:
        raise FeedbackError("Give the reason for your position.", field="rationale")
    with transaction.atomic():
        item = _locked(item)
        if item.state != State.IN_REVIEW:
            raise TransitionConflict(
                "Positions are recorded while the item is in review.", field="state"
            )
        decision, _ = Decision.objects.update_or_create(
            item=item,
            reviewer=acting_user,
            review_round=item.review_round,
            defaults={"position": position, "rationale": rationale},
        )
        audit_record(
            actor=acting_user,
            action="feedback.position_recorded",
            subjects=[item],
            visibility=Visibility.INTERNAL,
            data={
                "tracking_number": item.tracking_number,
                "position": position,
                "round": item.review_round,
                "rationale": rationale,
            },
        )
    return decision


def decision_prepare(*, acting_user, item: FeedbackItem, action: str, rationale: str):
    """Write a closing decision now and publish it later; the public sees nothing until then."""
    spec = workflow.action_get(action)
    if spec is None or action not in ("accept", "decline", "defer"):
        raise FeedbackError("Only accept, decline and defer can be prepared.", field="action")
    if not has_role(acting_user, REVIEWER, EDITOR):
        raise NotAllowed("Only reviewers prepare decisions.")
    rationale = (rationale or "").strip()
    if not rationale:
        raise FeedbackError("Give the public rationale for this decision.", field="rationale")
    with transaction.atomic():
        item = _locked(item)
        if not spec.allows(item.state):
            raise TransitionConflict(
                f"'{spec.label}' is not possible while the item is '{item.get_state_display()}'.",
                field="action",
            )
        prepared, _ = PreparedDecision.objects.update_or_create(
            item=item,
            defaults={"action": action, "rationale": rationale, "prepared_by": acting_user},
        )
        audit_record(
            actor=acting_user,
            action="feedback.decision_prepared",
            subjects=[item],
            visibility=Visibility.INTERNAL,
            data={"tracking_number": item.tracking_number, "action": action},
        )
    return prepared


def decision_publish(*, acting_user, item: FeedbackItem) -> FeedbackItem:
    """Publish the prepared decision: the transition runs now, with its rationale."""
    prepared = PreparedDecision.objects.filter(item=item).first()
    if prepared is None:
        raise TransitionConflict("There is no prepared decision on this item.", field="action")
    return feedback_transition(
        acting_user=acting_user,
        item=item,
        action=prepared.action,
        rationale=prepared.rationale,
    )


# --- Assignment, labels, notes ---------------------------------------------------------------


def item_assign(*, acting_user, item: FeedbackItem, assignee) -> FeedbackItem:
    """Give the item to a staff member (or to nobody, with None)."""
    if not has_role(acting_user, TRIAGER, REVIEWER, EDITOR):
        raise NotAllowed("Only triagers, reviewers and editors assign feedback.")
    if assignee is not None and not is_staff_member(assignee):
        raise FeedbackError("Feedback can only be assigned to staff.", field="assignee")
    with transaction.atomic():
        item = _locked(item)
        before = item.assignee_id
        if before == (assignee.pk if assignee else None):
            return item
        item.assignee = assignee
        item.save(update_fields=["assignee", "updated_at"])
        event = audit_record(
            actor=acting_user,
            action="feedback.assigned",
            subjects=[item],
            visibility=Visibility.INTERNAL,
            data={
                "tracking_number": item.tracking_number,
                "assignee": assignee.get_username() if assignee else None,
            },
        )
        if assignee is not None and assignee.pk != acting_user.pk:
            _notify("assigned", item=item, event=event, assignee=assignee)
    return item


def item_labels_change(*, acting_user, item: FeedbackItem, add=(), remove=()) -> FeedbackItem:
    if not has_role(acting_user, TRIAGER, REVIEWER, EDITOR):
        raise NotAllowed("Only triagers, reviewers and editors label feedback.")
    add, remove = list(add), list(remove)
    with transaction.atomic():
        item = _locked(item)
        current = set(item.labels.values_list("pk", flat=True))
        to_add = [label for label in add if label.pk not in current]
        to_remove = [label for label in remove if label.pk in current]
        if not (to_add or to_remove):
            return item
        item.labels.add(*to_add)
        item.labels.remove(*to_remove)
        audit_record(
            actor=acting_user,
            action="feedback.labelled",
            subjects=[item],
            visibility=Visibility.INTERNAL,
            data={
                "tracking_number": item.tracking_number,
                "added": sorted(label.name for label in to_add),
                "removed": sorted(label.name for label in to_remove),
            },
        )
    return item


def label_create(*, acting_user, name: str, description: str = "") -> Label:
    if not has_role(acting_user, TRIAGER, REVIEWER, EDITOR):
        raise NotAllowed("Only staff manage labels.")
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise FeedbackError("A label needs a name of 1 to 50 characters.", field="name")
    if Label.objects.filter(name__iexact=name).exists():
        raise FeedbackError("There is already a label with this name.", field="name")
    with transaction.atomic():
        label = Label.objects.create(name=name, description=(description or "").strip()[:200])
        audit_record(
            actor=acting_user,
            action="label.created",
            subjects=[label],
            visibility=Visibility.INTERNAL,
            data={"name": label.name},
        )
    return label


def mentioned_staff(body: str):
    """Staff accounts named with @username in a note."""
    names = set(MENTION.findall(body))
    if not names:
        return []
    users = get_user_model().objects.filter(username__in=names, is_active=True)
    return [user for user in users if is_staff_member(user)]


def note_add(
    *, acting_user, item: FeedbackItem, body: str, public: bool = False, parent: Note | None = None
) -> Note:
    """An internal note (threaded, with @mentions of staff) or a public reply."""
    if not is_staff_member(acting_user):
        raise NotAllowed("Only staff write notes and replies.")
    body = (body or "").strip()
    if not body:
        raise FeedbackError("Write the message.", field="body")
    if len(body) > NOTE_MAX:
        raise FeedbackError(f"Keep the message under {NOTE_MAX} characters.", field="body")
    if parent is not None and (parent.item_id != item.pk or parent.is_public != public):
        raise FeedbackError("Reply within the same thread.", field="parent")
    if public and not item.is_public:
        raise FeedbackError("Internal items take internal notes only.", field="body")
    with transaction.atomic():
        item = _locked(item)
        note = Note.objects.create(
            item=item,
            kind=Note.Kind.PUBLIC_REPLY if public else Note.Kind.INTERNAL,
            parent=parent,
            author=acting_user,
            author_label=acting_user.get_username(),
            body=body,
        )
        mentions = [] if public else [u for u in mentioned_staff(body) if u.pk != acting_user.pk]
        if mentions:
            note.mentions.add(*mentions)
        event = audit_record(
            actor=acting_user,
            action="feedback.replied" if public else "feedback.noted",
            subjects=[item],
            visibility=Visibility.PUBLIC if public and item.is_public else Visibility.INTERNAL,
            data={
                "tracking_number": item.tracking_number,
                "note": note.pk,
                **({"body": body} if public else {}),
            },
        )
        if public:
            pagecache.bump()
            _notify("public_reply", item=item, event=event, note=note)
        if mentions:
            _notify("mentioned", item=item, event=event, note=note, users=mentions)
    return note


def subscription_add(*, item=None, clause=None, spec=None, user=None, email: str = ""):
    """Follow an item, a clause or a spec; idempotent."""
    target = {"item": item, "clause": clause, "spec": spec}
    if sum(value is not None for value in target.values()) != 1:
        raise FeedbackError("Follow exactly one item, clause or spec.")
    who = {"user": user, "email": ""} if user is not None else {"user": None, "email": email}
    if user is None and not email:
        raise FeedbackError("Following needs an account or an e-mail address.", field="email")
    subscription, _ = Subscription.objects.get_or_create(**who, **target)
    return subscription


def subscription_remove(*, item=None, clause=None, spec=None, user=None, email: str = "") -> int:
    who = {"user": user} if user is not None else {"user": None, "email": email}
    deleted, _ = Subscription.objects.filter(**who, item=item, clause=clause, spec=spec).delete()
    return deleted
