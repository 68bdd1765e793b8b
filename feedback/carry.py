"""Carrying open feedback forward when a version is published (the receiver of
`revisions.signals.version_published`, connected in `apps.FeedbackConfig.ready`).

Inside the publish transaction, after revisions stored the lineage:

1. every open item (any visibility, hidden too) standing on a text of the superseded version
   (its `current_text`, else the text it was received on) is carried to its successor clause
   (the lineage's best link; the clause with the same identity when the lineage says nothing)
   and its passage re-found there (`reanchoring.reanchor`);
2. in bulk: one `Reanchoring` row per item, the item's new standing (`current_text`,
   positions, outcome, confidence), one `feedback.carried` ledger event per item (internal for
   internal or hidden items), and one message per submitter with the diff of their clause;
3. accepted items linked through a `ProposalLink` to a change proposal applied to this version
   become incorporated (the workflow's system-only `incorporate`, with a public rationale
   naming the version and the clause change).

No query per item in steps 1-2: the items are read in one query, the texts in two, and rows
are written with `unnest` arrays a chunk at a time, so 100,000 items take seconds."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from modelspec_site.audit.models import Visibility as EventVisibility
from modelspec_site.audit.services import EventSpec, audit_record_many
from revisions import pagecache
from revisions.models import ChangeProposal, ClauseText, LineageLink, Version

from .anchoring import CONTEXT
from .models import OPEN_STATES, FeedbackItem, ProposalLink, Reanchoring, State, Visibility
from .reanchoring import Reanchored, reanchor

logger = logging.getLogger(__name__)

CARRIED_ACTION = "feedback.carried"
CHUNK = 5_000
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Successor:
    text_id: int
    similarity: int
    kind: str
    text_changed: bool


@dataclass(frozen=True)
class OldText:
    plain: str
    anchor: str


@dataclass
class CarriedItem:
    """One open item as carrying reads it, and what re-anchoring found."""

    pk: int
    tracking_number: str
    from_text: int
    visibility: str
    hidden: bool
    state: str
    submitter_id: int | None
    submitter_email: str
    spec_id: int
    clause_id: int
    result: Reanchored | None = None
    event = None


def _no_progress(step: str, done: int, total: int) -> None:
    return None


def on_version_published(sender, *, version, previous, acting_user=None, progress=None, **_):
    """The signal receiver: carry, then incorporate. Returns counts for the publish result."""
    report = progress or _no_progress
    if previous is None:
        return {"carried": 0, "incorporated": 0}
    carried = feedback_carry(
        version=version, previous=previous, acting_user=acting_user, progress=report
    )
    incorporated = feedback_incorporate(version=version, progress=report)
    return {"carried": carried.total, "outcomes": carried.outcomes, "incorporated": incorporated}


@dataclass
class CarryResult:
    total: int
    outcomes: dict[str, int]


# --- Successors ------------------------------------------------------------------------------


def successors_map(*, version: Version, previous: Version) -> dict[int, list[Successor]]:
    """{old text id (in `previous`): successors in `version`, best first}. From the stored
    lineage; an old text the lineage does not mention follows its clause identity."""
    old_texts = dict(ClauseText.objects.filter(version=previous).values_list("id", "clause_id"))
    new_texts = ClauseText.objects.filter(version=version).values_list(
        "id", "clause_id", "content_hash"
    )
    by_clause = {clause_id: (pk, content_hash) for pk, clause_id, content_hash in new_texts}
    out: dict[int, list[Successor]] = defaultdict(list)
    mentioned: set[int] = set()
    links = LineageLink.objects.filter(version=version, old_text_id__in=old_texts).values_list(
        "old_text_id", "new_text_id", "similarity", "kind", "text_changed"
    )
    for old_id, new_id, similarity, kind, changed in links:
        mentioned.add(old_id)
        if new_id is not None:
            out[old_id].append(Successor(new_id, similarity, kind, changed))
    missing = [pk for pk in old_texts if pk not in mentioned]
    if missing:
        hashes = dict(ClauseText.objects.filter(pk__in=missing).values_list("id", "content_hash"))
        for old_id in missing:
            found = by_clause.get(old_texts[old_id])
            if found is not None:
                same = found[1] == hashes.get(old_id)
                out[old_id].append(
                    Successor(
                        found[0], 100 if same else 0, "unchanged" if same else "edited", not same
                    )
                )
    for successors in out.values():
        successors.sort(key=lambda s: (-s.similarity, s.kind == "split", s.text_id))
    return dict(out)


# --- Carrying --------------------------------------------------------------------------------

_ITEM_FIELDS = (
    "id", "tracking_number", "clause_text_id", "current_text_id", "quote_exact", "quote_prefix",
    "quote_suffix", "position_start", "current_start", "current_end", "visibility", "hidden",
    "state", "submitter_id", "submitter_email", "spec_id", "clause_id",
)  # fmt: skip


def standing_on(text_ids) -> Q:
    """Items whose standing text (`current_text`, else `clause_text`) is one of `text_ids`."""
    text_ids = list(text_ids)
    return Q(current_text_id__in=text_ids) | Q(
        current_text__isnull=True, clause_text_id__in=text_ids
    )


def feedback_carry(
    *, version: Version, previous: Version, acting_user=None, progress: Progress = _no_progress
) -> CarryResult:
    """Carry every open item standing on `previous` to its successor in `version` (see the
    module's docstring). Runs inside the caller's transaction (the publication's); an item
    already carried to `version` stands on it and is not carried twice."""
    with transaction.atomic():
        old = {
            pk: OldText(plain, anchor)
            for pk, plain, anchor in ClauseText.objects.filter(version=previous).values_list(
                "id", "plain_text", "anchor"
            )
        }
        new, new_anchor = {}, {}
        for pk, plain, anchor in ClauseText.objects.filter(version=version).values_list(
            "id", "plain_text", "anchor"
        ):
            new[pk], new_anchor[pk] = plain, anchor
        successors = successors_map(version=version, previous=previous)
        rows = list(
            FeedbackItem.objects.filter(standing_on(old), state__in=OPEN_STATES)
            .order_by("id")
            .values_list(*_ITEM_FIELDS)
        )
        total = len(rows)
        progress("feedback: re-anchoring", 0, total)
        items: list[CarriedItem] = []
        cache: dict[tuple, Reanchored] = {}
        for n, row in enumerate(rows, 1):
            item, key, kwargs = _prepare(row, old, new, successors)
            result = cache.get(key)
            if result is None:
                result = cache[key] = reanchor(**kwargs)
            item.result = result
            items.append(item)
            if n % CHUNK == 0:
                progress("feedback: re-anchoring", n, total)
        progress("feedback: re-anchoring", total, total)

        now = timezone.now()
        for start in range(0, total, CHUNK):
            chunk = items[start : start + CHUNK]
            _store_chunk(chunk, version=version, now=now)
            progress("feedback: storing", min(start + CHUNK, total), total)

        version_ref = {"type": "revisions.version", "id": str(version.pk), "label": str(version)}
        specs = [
            EventSpec(
                actor=acting_user if acting_user is not None else "system",
                action=CARRIED_ACTION,
                subjects=(
                    {"type": "feedback.feedbackitem", "id": str(i.pk), "label": i.tracking_number},
                    version_ref,
                ),
                visibility=EventVisibility.INTERNAL
                if i.visibility == Visibility.INTERNAL or i.hidden
                else EventVisibility.PUBLIC,
                data={
                    "tracking_number": i.tracking_number,
                    "version": version.label,
                    "from_version": previous.label,
                    "from_clause": old[i.from_text].anchor,
                    "to_clause": new_anchor.get(i.result.text_id) if i.result.text_id else None,
                    "from_text": i.from_text,
                    "to_text": i.result.text_id,
                    "outcome": i.result.outcome,
                    "confidence": i.result.confidence,
                },
            )
            for i in items
        ]
        progress("feedback: ledger", 0, total)
        events = audit_record_many(specs)
        for item, event in zip(items, events, strict=True):
            item.event = event
        progress("feedback: ledger", total, total)

        from .messaging import carried_queue

        progress("feedback: notifying", 0, total)
        carried_queue(
            items=items,
            version=version,
            old={pk: text.plain for pk, text in old.items()},
            new=new,
            incorporating=set(_incorporation_links(version).values_list("item_id", flat=True)),
        )
        progress("feedback: notifying", total, total)
        if items:
            pagecache.bump()
    outcomes: dict[str, int] = defaultdict(int)
    for item in items:
        outcomes[item.result.outcome] += 1
    return CarryResult(total=total, outcomes=dict(sorted(outcomes.items())))


def _prepare(row, old: dict[int, OldText], new: dict[int, str], successors):
    (pk, number, clause_text_id, current_text_id, quote_exact, quote_prefix, quote_suffix,
     position_start, current_start, current_end, visibility, hidden, state, submitter_id,
     submitter_email, spec_id, clause_id) = row  # fmt: skip
    standing = current_text_id or clause_text_id
    item = CarriedItem(pk, number, standing, visibility, hidden, state, submitter_id,
                       submitter_email, spec_id, clause_id)  # fmt: skip
    if current_text_id and current_start is not None:
        # Carried before: the passage is where the last publication found it.
        plain = old[standing].plain
        exact = plain[current_start:current_end]
        prefix = plain[max(0, current_start - CONTEXT) : current_start]
        suffix = plain[current_end : current_end + CONTEXT]
        start = current_start
    elif quote_exact:
        # Never carried, or its passage was lost: the quote as it was submitted.
        exact, prefix, suffix = quote_exact, quote_prefix, quote_suffix
        start = position_start if not current_text_id else None
    else:
        exact = prefix = suffix = ""
        start = None
    found = successors.get(standing, [])
    primary = found[0] if found else None
    kwargs = {
        "exact": exact,
        "prefix": prefix,
        "suffix": suffix,
        "start": start,
        "primary": (primary.text_id, new[primary.text_id]) if primary else None,
        "others": [(s.text_id, new[s.text_id]) for s in found[1:]],
        "text_changed": bool(primary and primary.text_changed),
        "similarity": primary.similarity if primary else None,
    }
    key = (standing, exact, prefix, suffix, start)
    return item, key, kwargs


def _store_chunk(items: list[CarriedItem], *, version: Version, now) -> None:
    """One INSERT of the chunk's Reanchoring rows and one UPDATE of its items, from arrays."""
    if not items:
        return
    ids = [i.pk for i in items]
    from_ids = [i.from_text for i in items]
    to_ids = [i.result.text_id for i in items]
    outcomes = [i.result.outcome for i in items]
    confidences = [i.result.confidence for i in items]
    exacts = [i.result.exact for i in items]
    starts = [i.result.start for i in items]
    ends = [i.result.end for i in items]
    reanchoring = Reanchoring._meta.db_table
    feedback = FeedbackItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {reanchoring}
                (item_id, version_id, from_text_id, to_text_id, outcome, confidence,
                 quote_exact, position_start, position_end, response, created_at)
            SELECT v.item_id, %s, v.from_id, v.to_id, v.outcome, v.confidence, v.exact,
                   v.start_at, v.end_at, '', %s
            FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::int[],
                        %s::text[], %s::int[], %s::int[])
                 AS v(item_id, from_id, to_id, outcome, confidence, exact, start_at, end_at)
            ON CONFLICT (item_id, version_id) DO NOTHING
            """,  # noqa: S608 (only the models' table names are formatted in)
            [version.pk, now, ids, from_ids, to_ids, outcomes, confidences, exacts, starts, ends],
        )
        cursor.execute(
            f"""
            UPDATE {feedback} AS f
            SET current_text_id = v.to_id, current_start = v.start_at, current_end = v.end_at,
                anchor_outcome = v.outcome, anchor_confidence = v.confidence, updated_at = %s
            FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::text[],
                        %s::int[])
                 AS v(item_id, to_id, start_at, end_at, outcome, confidence)
            WHERE f.id = v.item_id
            """,  # noqa: S608 (only the models' table names are formatted in)
            [now, ids, to_ids, starts, ends, outcomes, confidences],
        )


# --- Incorporation ---------------------------------------------------------------------------


def feedback_incorporate(*, version: Version, progress: Progress = _no_progress) -> int:
    """Accepted items answered by a change proposal applied to `version` become incorporated,
    with a public rationale naming the version and the change. Returns how many."""
    from .transitions import feedback_transition

    links = (
        _incorporation_links(version)
        .select_related("proposal", "proposal__base_text")
        .order_by("item_id", "proposal_id")
    )
    changes: dict[int, list[ChangeProposal]] = defaultdict(list)
    for link in links:
        changes[link.item_id].append(link.proposal)
    total = len(changes)
    progress("feedback: incorporating", 0, total)
    done = 0
    items = FeedbackItem.objects.filter(pk__in=list(changes)).order_by("pk")
    for item in items:
        feedback_transition(
            acting_user=None,
            item=item,
            action="incorporate",
            rationale=incorporation_rationale(version, changes[item.pk]),
            system=True,
        )
        done += 1
        progress("feedback: incorporating", done, total)
    return done


def _incorporation_links(version: Version):
    return ProposalLink.objects.filter(
        proposal__draft=version,
        proposal__state__in=(ChangeProposal.State.APPLIED, ChangeProposal.State.PUBLISHED),
        item__state=State.ACCEPTED,
    )


def incorporation_rationale(version: Version, proposals: list[ChangeProposal]) -> str:
    """The public rationale of an incorporation, in the site's language (it is stored)."""
    from django.conf import settings

    with translation.override(settings.LANGUAGE_CODE):
        changes = "; ".join(_change_words(p) for p in proposals)
        return _("Incorporated in version %(version)s: %(changes)s.") % {
            "version": version.label,
            "changes": changes,
        }


def _change_words(proposal: ChangeProposal) -> str:
    anchor = (
        proposal.applied_anchor
        or proposal.new_anchor
        or (proposal.base_text.anchor if proposal.base_text_id else "")
    )
    words = {
        ChangeProposal.Operation.EDIT: _("clause “%(clause)s” edited"),
        ChangeProposal.Operation.ADD: _("clause “%(clause)s” added"),
        ChangeProposal.Operation.REMOVE: _("clause “%(clause)s” removed"),
        ChangeProposal.Operation.MOVE: _("clause “%(clause)s” moved"),
        ChangeProposal.Operation.AUTHORITY: _("authority of clause “%(clause)s” changed"),
    }.get(proposal.operation, _("clause “%(clause)s” changed"))
    return words % {"clause": anchor} + f" (P{proposal.pk})"


# --- The submitter's answer ------------------------------------------------------------------

ANSWERED_ACTION = "feedback.reanchoring_answered"
ANSWER_MESSAGE_MAX = 5_000


def carried_answer(
    *, acting_user, reanchoring: Reanchoring, response: str, message: str = ""
) -> Reanchoring:
    """The submitter answers "does the new text resolve your concern?" for one carry-forward
    (yes, partly or no; answering again replaces the answer). A "no" with words is kept as
    the submitter's reply on the item. A "no" on a closed item (incorporated) asks to reopen
    it: the reply is recorded and reviewers are told; an open item just stays open. The
    caller has checked that the person is the submitter (account, private link or the signed
    link of the message)."""
    from .errors import FeedbackError

    if response not in Reanchoring.Response.values:
        raise FeedbackError("Choose yes, partly or no.", field="response")
    message = (message or "").strip()
    if len(message) > ANSWER_MESSAGE_MAX:
        raise FeedbackError(
            f"Keep the message under {ANSWER_MESSAGE_MAX} characters.", field="message"
        )
    from . import workflow
    from .models import Note

    with transaction.atomic():
        reanchoring = (
            Reanchoring.objects.select_for_update(of=("self",))
            .select_related("version", "item")
            .get(pk=reanchoring.pk)
        )
        item = FeedbackItem.objects.select_for_update().get(pk=reanchoring.item_id)
        reanchoring.response = response
        reanchoring.responded_at = timezone.now()
        reanchoring.save(update_fields=["response", "responded_at"])
        reopen_asked = response == Reanchoring.Response.NO and workflow.is_closed(item.state)
        note = None
        if message or reopen_asked:
            with translation.override(_site_language()):
                body = message or _("The new text does not resolve my concern.")
            note = Note.objects.create(
                item=item,
                kind=Note.Kind.SUBMITTER_REPLY if item.is_public else Note.Kind.INTERNAL,
                author=acting_user if getattr(acting_user, "is_authenticated", False) else None,
                author_label="submitter",
                body=body,
            )
        public = item.is_public and not item.hidden
        event = audit_record_many(
            [
                EventSpec(
                    actor=acting_user
                    if getattr(acting_user, "is_authenticated", False)
                    else "anonymous",
                    action=ANSWERED_ACTION,
                    subjects=(
                        {
                            "type": "feedback.feedbackitem",
                            "id": str(item.pk),
                            "label": item.tracking_number,
                        },
                    ),
                    visibility=EventVisibility.PUBLIC if public else EventVisibility.INTERNAL,
                    data={
                        "tracking_number": item.tracking_number,
                        "version": reanchoring.version.label,
                        "response": response,
                        "reopen_requested": reopen_asked,
                        **({"note": note.pk} if note else {}),
                    },
                )
            ]
        )[0]
        if reopen_asked:
            from .messaging import reopen_request_queue

            reopen_request_queue(item=item, event=event, version=reanchoring.version, note=note)
        if public and note is not None:
            pagecache.bump()
    return reanchoring


def _site_language() -> str:
    from django.conf import settings

    return settings.LANGUAGE_CODE


def carried_for_answer(*, item: FeedbackItem, version_id: int | None = None):
    """The carry-forward a submitter answers about: the one of `version_id`, or the latest."""
    rows = Reanchoring.objects.filter(item_id=item.pk).select_related(
        "version", "version__spec", "from_text", "to_text"
    )
    if version_id is not None:
        return rows.filter(version_id=version_id).first()
    return rows.order_by("-created_at", "-id").first()
