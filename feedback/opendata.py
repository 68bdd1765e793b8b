"""Open data: every public record of the tracker as bulk downloads (CSV and JSON Lines).

Four data sets: public feedback, the public decisions on it, the published versions of each
spec, and their clause texts. Whoever downloads them (staff included) gets the PUBLIC view:
every query starts from `feedback_visible_to(AnonymousUser())` or
`versions_visible_to(AnonymousUser())`, and only the columns listed below are read from the
database, so nothing else (e-mail addresses, internal items, moderated content, drafts, who
acted) can reach a file. Items a moderator hid are left out entirely.

Files are streamed: rows are read by keyset over the primary key in batches of `BATCH`, encoded
and sent batch by batch, so memory stays flat whatever the number of rows, and there is no cap.

CSV cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab
or a carriage return) are prefixed with an apostrophe (OWASP "CSV injection"); JSON Lines carry
the values unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from revisions.models import ClauseText, Version
from revisions.selectors import versions_visible_to

from .models import FeedbackItem, State, Transition, Visibility
from .selectors import feedback_visible_to
from .workflow import CLOSED_STATES

BATCH = 1000  # rows read per query
FLUSH_ROWS = 200  # rows encoded per chunk sent
# A state reached by a decision: what the item page shows as "Decision".
DECISION_STATES = tuple(sorted({*CLOSED_STATES, State.ACCEPTED}))
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    name: str
    description: Any  # lazy translation


@dataclass(frozen=True)
class Dataset:
    name: str
    title: Any
    description: Any
    licence: str  # "spec" (CC0, the specification's own) or "feedback" (OPEN_DATA_LICENSE)
    columns: tuple[Column, ...]
    rows: Callable[[str], Iterator[dict[str, Any]]]  # base URL -> rows (column name -> value)


# --- Reading in batches ------------------------------------------------------------------------


def _batches(queryset: QuerySet, fields: Iterable[str], *, batch: int | None = None):
    """Rows of `queryset` as dicts of `fields`, by keyset over the primary key: one query per
    batch, never more than one batch in memory."""
    size = batch or BATCH
    fields = ("pk", *fields)
    last = None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        rows = list(page.values(*fields)[:size])
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        last = rows[-1]["pk"]


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


# --- Feedback ----------------------------------------------------------------------------------


def public_items() -> QuerySet[FeedbackItem]:
    """Every item the public may read in full: public, not hidden by a moderator."""
    return feedback_visible_to(AnonymousUser()).filter(visibility=Visibility.PUBLIC, hidden=False)


def _latest_move(field: str, **match: Any) -> Subquery:
    moves = Transition.objects.filter(item=OuterRef("pk"), **match).order_by("-created_at", "-id")
    return Subquery(moves.values(field)[:1])


FEEDBACK_COLUMNS = (
    Column("tracking_number", _("The item's public tracking number.")),
    Column("url", _("The item's page.")),
    Column("spec", _("The specification (slug).")),
    Column("version", _("The version the feedback was filed on.")),
    Column("clause", _("The clause's id in that version.")),
    Column("clause_key", _("The clause's identity across versions (its first known id).")),
    Column("authority", _("The clause's authority level in that version; empty for sections.")),
    Column("example", _("The worked example it is about (slug), if any.")),
    Column("kind", _("What kind of feedback it is.")),
    Column("severity", _("How severe the submitter thinks it is.")),
    Column("state", _("Where it stands in the workflow.")),
    Column("summary", _("One line from the submitter.")),
    Column("body", _("Details (Markdown).")),
    Column("suggested_text", _("Replacement text the submitter proposes (Markdown).")),
    Column("quote_exact", _("The passage commented on, if any (W3C TextQuote exact).")),
    Column("quote_prefix", _("Text just before the passage.")),
    Column("quote_suffix", _("Text just after the passage.")),
    Column("quote_start", _("Offset of the passage in the clause's plain text.")),
    Column("quote_end", _("Offset just after the passage.")),
    Column("example_conversation", _("A conversation the submitter gave, as JSON.")),
    Column("affiliation", _("The affiliation the submitter disclosed.")),
    Column("conflict_of_interest", _("The conflict of interest the submitter disclosed.")),
    Column("submitter_name", _("The name the submitter chose to show; empty if anonymous.")),
    Column("endorsement_count", _("How many people endorsed it (“me too”).")),
    Column("created_at", _("When it was received (UTC, ISO 8601).")),
    Column("updated_at", _("Its latest public move through the workflow (or received).")),
    Column("resolution", _("The public rationale of its decision, once decided.")),
)


def feedback_rows(base_url: str, *, batch: int | None = None) -> Iterator[dict[str, Any]]:
    queryset = public_items().annotate(
        spec_slug=F("spec__slug"),
        version_label=F("version__label"),
        clause_anchor=F("clause_text__anchor"),
        clause_key=F("clause__key"),
        clause_authority=F("clause_text__authority"),
        example_slug=F("example__slug"),
        moved_at=_latest_move("created_at"),
        decided_rationale=_latest_move("rationale", to_state=OuterRef("state")),
    )
    fields = (
        "tracking_number", "spec_slug", "version_label", "clause_anchor", "clause_key",
        "clause_authority", "example_slug", "kind", "severity", "state", "summary", "body",
        "suggested_text", "quote_exact", "quote_prefix", "quote_suffix", "position_start",
        "position_end", "example_conversation", "affiliation", "conflict_of_interest",
        "submitter_name", "endorsement_count", "created_at", "moved_at", "decided_rationale",
    )  # fmt: skip
    for rows in _batches(queryset, fields, batch=batch):
        for r in rows:
            number = r["tracking_number"]
            decided = r["state"] in DECISION_STATES
            yield {
                "tracking_number": number,
                "url": base_url + reverse("feedback:item", args=[number]),
                "spec": r["spec_slug"],
                "version": r["version_label"],
                "clause": r["clause_anchor"],
                "clause_key": r["clause_key"],
                "authority": r["clause_authority"],
                "example": r["example_slug"],
                "kind": r["kind"],
                "severity": r["severity"],
                "state": r["state"],
                "summary": r["summary"],
                "body": r["body"],
                "suggested_text": r["suggested_text"],
                "quote_exact": r["quote_exact"] if r["position_start"] is not None else "",
                "quote_prefix": r["quote_prefix"] if r["position_start"] is not None else "",
                "quote_suffix": r["quote_suffix"] if r["position_start"] is not None else "",
                "quote_start": r["position_start"],
                "quote_end": r["position_end"],
                "example_conversation": r["example_conversation"] or [],
                "affiliation": r["affiliation"],
                "conflict_of_interest": r["conflict_of_interest"],
                "submitter_name": r["submitter_name"],
                "endorsement_count": r["endorsement_count"],
                "created_at": _iso(r["created_at"]),
                "updated_at": _iso(max(filter(None, (r["created_at"], r["moved_at"])))),
                "resolution": (r["decided_rationale"] or "") if decided else "",
            }


# --- Decisions ---------------------------------------------------------------------------------


def public_decisions() -> QuerySet[Transition]:
    """Moves into a decided state (accepted, incorporated, declined, deferred, duplicate, spam,
    withdrawn) of items the public may read: what each item's public timeline shows."""
    return Transition.objects.filter(
        item__in=public_items().values("pk"), to_state__in=DECISION_STATES
    )


DECISION_COLUMNS = (
    Column("tracking_number", _("The item decided on.")),
    Column("url", _("The item's page.")),
    Column("spec", _("The specification (slug).")),
    Column("version", _("The version the feedback was filed on.")),
    Column("clause", _("The clause's id in that version.")),
    Column("kind", _("What kind of feedback it is.")),
    Column("decision", _("The state the decision moved it to.")),
    Column("from_state", _("The state it was in before.")),
    Column("rationale", _("The public rationale (Markdown); none for spam.")),
    Column("duplicate_of", _("For duplicates: the original's tracking number.")),
    Column("decided_at", _("When the decision was published (UTC, ISO 8601).")),
    Column("current_state", _("Where the item stands now (a decision may be reopened).")),
)


def decision_rows(base_url: str, *, batch: int | None = None) -> Iterator[dict[str, Any]]:
    queryset = public_decisions().annotate(
        tracking_number=F("item__tracking_number"),
        spec_slug=F("item__spec__slug"),
        version_label=F("item__version__label"),
        clause_anchor=F("item__clause_text__anchor"),
        item_kind=F("item__kind"),
        item_state=F("item__state"),
        original=F("item__duplicate_of__tracking_number"),
    )
    fields = (
        "tracking_number", "spec_slug", "version_label", "clause_anchor", "item_kind",
        "to_state", "from_state", "rationale", "created_at", "item_state", "original",
    )  # fmt: skip
    for rows in _batches(queryset, fields, batch=batch):
        # An original is named only when the public may see it (internal items never are).
        wanted = {r["original"] for r in rows if r["original"] and r["to_state"] == "duplicate"}
        originals_public = set(
            feedback_visible_to(AnonymousUser())
            .filter(tracking_number__in=wanted)
            .values_list("tracking_number", flat=True)
            if wanted
            else ()
        )
        for r in rows:
            number = r["tracking_number"]
            original = r["original"] if r["to_state"] == State.DUPLICATE else None
            yield {
                "tracking_number": number,
                "url": base_url + reverse("feedback:item", args=[number]),
                "spec": r["spec_slug"],
                "version": r["version_label"],
                "clause": r["clause_anchor"],
                "kind": r["item_kind"],
                "decision": r["to_state"],
                "from_state": r["from_state"],
                "rationale": r["rationale"],
                "duplicate_of": original if original in originals_public else None,
                "decided_at": _iso(r["created_at"]),
                "current_state": r["item_state"],
            }


# --- Versions and clause texts -----------------------------------------------------------------


def public_versions() -> QuerySet[Version]:
    return versions_visible_to(AnonymousUser()).filter(
        state__in=(Version.State.PUBLISHED, Version.State.SUPERSEDED)
    )


VERSION_COLUMNS = (
    Column("spec", _("The specification (slug).")),
    Column("spec_title", _("The specification's title.")),
    Column("version", _("The version's label.")),
    Column("state", _("published (the current one) or superseded.")),
    Column("parent", _("The version it revises.")),
    Column("published_at", _("When it was published (UTC, ISO 8601).")),
    Column("superseded_at", _("When a newer version replaced it.")),
    Column("changelog", _("What changed (Markdown).")),
    Column("source_sha256", _("SHA-256 of its Markdown source.")),
    Column("clause_count", _("How many clauses it has.")),
    Column("example_count", _("How many worked examples it has.")),
    Column("url", _("The version's page.")),
    Column("source_url", _("Its Markdown source, exactly as published.")),
)


def version_rows(base_url: str, *, batch: int | None = None) -> Iterator[dict[str, Any]]:
    queryset = public_versions().annotate(
        spec_slug=F("spec__slug"), spec_title=F("spec__title"), parent_label=F("parent__label")
    )
    fields = (
        "spec_slug", "spec_title", "label", "state", "parent_label", "published_at",
        "superseded_at", "changelog", "source_hash", "clause_count", "example_count",
    )  # fmt: skip
    for rows in _batches(queryset, fields, batch=batch):
        for r in rows:
            names = {"spec": r["spec_slug"], "label": r["label"]}
            yield {
                "spec": r["spec_slug"],
                "spec_title": r["spec_title"],
                "version": r["label"],
                "state": r["state"],
                "parent": r["parent_label"],
                "published_at": _iso(r["published_at"]),
                "superseded_at": _iso(r["superseded_at"]),
                "changelog": r["changelog"],
                "source_sha256": r["source_hash"],
                "clause_count": r["clause_count"],
                "example_count": r["example_count"],
                "url": base_url + reverse("revisions:version", kwargs=names),
                "source_url": base_url + reverse("revisions:source", kwargs=names),
            }


CLAUSE_COLUMNS = (
    Column("spec", _("The specification (slug).")),
    Column("version", _("The version's label.")),
    Column("clause", _("The clause's id in this version.")),
    Column("clause_key", _("The clause's identity across versions (its first known id).")),
    Column("number", _("Its section number.")),
    Column("heading", _("Its heading.")),
    Column("level", _("Heading level, 1 to 4.")),
    Column("parent", _("The id of the section it sits in.")),
    Column("position", _("Its place in reading order.")),
    Column("authority", _("Its authority level; empty for grouping sections.")),
    Column("attributes", _("Other heading attributes, as JSON.")),
    Column("body_markdown", _("Its text (Markdown).")),
    Column("plain_text", _("Its text as plain text (what passages are anchored against).")),
    Column("content_hash", _("SHA-256 of its content.")),
    Column("url", _("The clause's page in this version.")),
)


def clause_rows(base_url: str, *, batch: int | None = None) -> Iterator[dict[str, Any]]:
    queryset = ClauseText.objects.filter(version__in=public_versions().values("pk")).annotate(
        spec_slug=F("version__spec__slug"),
        version_label=F("version__label"),
        clause_key=F("clause__key"),
        parent_anchor=F("parent__anchor"),
    )
    fields = (
        "spec_slug", "version_label", "anchor", "clause_key", "number", "heading", "level",
        "parent_anchor", "position", "authority", "attributes", "body_markdown", "plain_text",
        "content_hash",
    )  # fmt: skip
    for rows in _batches(queryset, fields, batch=batch):
        for r in rows:
            names = {"spec": r["spec_slug"], "label": r["version_label"], "clause_id": r["anchor"]}
            yield {
                "spec": r["spec_slug"],
                "version": r["version_label"],
                "clause": r["anchor"],
                "clause_key": r["clause_key"],
                "number": r["number"],
                "heading": r["heading"],
                "level": r["level"],
                "parent": r["parent_anchor"],
                "position": r["position"],
                "authority": r["authority"],
                "attributes": r["attributes"] or {},
                "body_markdown": r["body_markdown"],
                "plain_text": r["plain_text"],
                "content_hash": r["content_hash"],
                "url": base_url + reverse("revisions:clause", kwargs=names),
            }


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "feedback",
            _("Feedback"),
            _(
                "Every public feedback item, one row each (items hidden by a moderator are left "
                "out). Never e-mail addresses, internal items or internal notes."
            ),
            "feedback",
            FEEDBACK_COLUMNS,
            feedback_rows,
        ),
        Dataset(
            "decisions",
            _("Decisions"),
            _(
                "Every published decision on public feedback, with its public rationale: one row "
                "per move into a decided state, as the items' public timelines show them. Never "
                "who decided, reviewers' positions or prepared decisions."
            ),
            "feedback",
            DECISION_COLUMNS,
            decision_rows,
        ),
        Dataset(
            "versions",
            _("Versions"),
            _(
                "Every published and superseded version of each specification (drafts are not "
                "public)."
            ),
            "spec",
            VERSION_COLUMNS,
            version_rows,
        ),
        Dataset(
            "clauses",
            _("Clause texts"),
            _(
                "Every clause of every published and superseded version, one row per clause per "
                "version."
            ),
            "spec",
            CLAUSE_COLUMNS,
            clause_rows,
        ),
    )
}
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
}


# --- Encoding ----------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """One CSV cell: lists and objects as JSON, booleans as true/false, nothing as empty, and
    text a spreadsheet would read as a formula defused with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def encode_csv(dataset: Dataset, rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    names = [c.name for c in dataset.columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(row[name]) for name in names])
        if count % FLUSH_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def encode_jsonl(dataset: Dataset, rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    names = [c.name for c in dataset.columns]
    lines: list[str] = []
    for row in rows:
        lines.append(json.dumps({n: row[n] for n in names}, ensure_ascii=False))
        if len(lines) >= FLUSH_ROWS:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def dataset_stream(*, name: str, fmt: str, base_url: str) -> Iterator[bytes]:
    """The bytes of one download, produced lazily. Raises KeyError for an unknown data set or
    format (the view's 404)."""
    dataset = DATASETS[name]
    encode = {"csv": encode_csv, "jsonl": encode_jsonl}[fmt]
    return encode(dataset, dataset.rows(base_url))
