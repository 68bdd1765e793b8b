"""Draft versions: start one from the published version, apply accepted proposals, edit clauses,
upload Markdown, delete.

A draft's truth is its Markdown source. Every change here rewrites that source and imports it
again with `services.version_import` (which re-parses it, replaces the draft's clause texts and
re-renders them, all in one transaction): what an editor builds is exactly what `import_spec`
would read. The rewrite is surgical: the source is cut into one region per clause (its heading
line and body, as the stored `source_line`s say) and only the regions a change touches are
rewritten, so the rest of the file stays byte for byte what it was. A parse error rolls the
whole change back; a draft is never left half-written.

One open draft per spec at a time: proposals are applied to "the" draft, and a second draft
from the same published version would race it to publication. Conflicts: a proposal is
applied only while the draft's text of its clause still has the content hash the proposal was
drafted against (and its place still exists); otherwise it is CONFLICTING and left alone."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import ProtectedError

from modelspec_site.accounts.roles import EDITOR, has_role
from modelspec_site.audit.models import Visibility
from modelspec_site.audit.services import audit_record

from . import pagecache
from .importing import SpecSyntaxError
from .models import ChangeProposal, ClauseText, PublishJob, Spec, Version, label_validator
from .proposals import (
    MAX_LEVEL,
    RevisionConflict,
    RevisionError,
    RevisionNotAllowed,
    proposal_mark_applied,
    published_version,
)
from .services import version_import

Operation = ChangeProposal.Operation


class ProposalConflicting(RevisionConflict):
    """The proposal's clause changed in the draft since the proposal was written."""

    code = "proposal_conflicting"


# --- The source, cut into clause regions (pure) -------------------------------------------


@dataclass
class Region:
    """One clause's lines: its heading line first, then its body up to the next heading."""

    anchor: str
    level: int
    lines: list[str]
    touched: bool = False


@dataclass
class Source:
    head: list[str]  # lines before the first heading (blank ones only)
    regions: list[Region]
    crlf: bool = False
    final_newline: bool = True
    touched: set[int] = field(default_factory=set)

    def index(self, anchor: str) -> int:
        for i, region in enumerate(self.regions):
            if region.anchor == anchor:
                return i
        raise KeyError(anchor)

    def subtree_end(self, i: int) -> int:
        """The index after clause `i` and its subsections."""
        level = self.regions[i].level
        j = i + 1
        while j < len(self.regions) and self.regions[j].level > level:
            j += 1
        return j


def source_split(source: str, headings: list[tuple[str, int, int]]) -> Source:
    """`headings`: (anchor, level, 1-based heading line) in reading order, as stored."""
    crlf = "\r\n" in source
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    final_newline = text.endswith("\n")
    lines = (text[:-1] if final_newline else text).split("\n")
    starts = [line - 1 for _anchor, _level, line in headings] + [len(lines)]
    regions = [
        Region(anchor, level, lines[starts[k] : starts[k + 1]])
        for k, (anchor, level, _line) in enumerate(headings)
    ]
    return Source(lines[: starts[0]], regions, crlf=crlf, final_newline=final_newline)


def source_join(doc: Source) -> str:
    _tidy_gaps(doc)
    lines = list(doc.head)
    for region in doc.regions:
        lines.extend(region.lines)
    text = "\n".join(lines) + ("\n" if doc.final_newline else "")
    return text.replace("\n", "\r\n") if doc.crlf else text


def _blank(line: str) -> bool:
    return not line.strip()


def _tidy_gaps(doc: Source) -> None:
    """Around what was touched: a blank line between clauses, none at the end of the file."""
    for i, region in enumerate(doc.regions):
        if not region.touched:
            continue
        if i > 0 and not _blank(doc.regions[i - 1].lines[-1]):
            doc.regions[i - 1].lines.append("")
        if i == len(doc.regions) - 1:
            while len(region.lines) > 1 and _blank(region.lines[-1]):
                region.lines.pop()
        elif not _blank(region.lines[-1]):
            region.lines.append("")


_HEADING_LINE = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*\{#(?P<rest>[^{}]*)\}\s*$")


@dataclass(frozen=True)
class HeadingLine:
    level: int
    text: str
    anchor: str
    attrs: tuple[str, ...]  # raw `key=value` tokens in source order

    @classmethod
    def parse(cls, line: str) -> HeadingLine:
        match = _HEADING_LINE.match(line)
        if match is None:
            raise RevisionError(f"cannot read the heading line {line!r}")
        anchor, *attrs = match.group("rest").split()
        return cls(len(match.group("hashes")), match.group("text"), anchor, tuple(attrs))

    def authority(self) -> str:
        return next((a.split("=", 1)[1] for a in self.attrs if a.startswith("authority=")), "")

    def with_authority(self, word: str) -> HeadingLine:
        others = [a for a in self.attrs if not a.startswith("authority=")]
        if not word:
            return HeadingLine(self.level, self.text, self.anchor, tuple(others))
        at = next((k for k, a in enumerate(self.attrs) if a.startswith("authority=")), 0)
        others.insert(at, f"authority={word}")
        return HeadingLine(self.level, self.text, self.anchor, tuple(others))

    def render(self) -> str:
        inside = " ".join((f"#{self.anchor}", *self.attrs))
        return f"{'#' * self.level} {self.text} {{{inside}}}"


def _set_heading(region: Region, heading: HeadingLine) -> None:
    if region.lines[0] != (rendered := heading.render()):
        region.lines[0] = rendered
        region.touched = True
    region.level = heading.level


def _set_body(region: Region, body: str) -> None:
    rest = region.lines[1:]
    lead = next((k for k, line in enumerate(rest) if not _blank(line)), len(rest))
    old = rest[lead:]
    trail = 0
    while trail < len(old) and _blank(old[-1 - trail]):
        trail += 1
    body_lines = body.strip("\n").split("\n") if body.strip() else []
    if body_lines == old[: len(old) - trail]:
        return
    new = [region.lines[0]]
    if body_lines:
        new += [""] * max(lead, 1) + body_lines
    new += [""] * max(trail, 1)
    region.lines = new
    region.touched = True


def _new_region(anchor: str, level: int, heading: str, authority: str, body: str) -> Region:
    attrs = (f"authority={authority}",) if authority else ()
    lines = [HeadingLine(level, heading, anchor, attrs).render(), ""]
    if body.strip():
        lines += [*body.strip("\n").split("\n"), ""]
    return Region(anchor, level, lines, touched=True)


def _place(doc: Source, parent_anchor: str, after_anchor: str) -> tuple[int, int]:
    """(index to insert at, level) for the place `parent_anchor` / `after_anchor`."""
    if after_anchor:
        i = doc.index(after_anchor)
        return doc.subtree_end(i), doc.regions[i].level
    if parent_anchor:
        i = doc.index(parent_anchor)
        return i + 1, doc.regions[i].level + 1
    return 0, 1


def source_edit(doc: Source, anchor: str, *, heading: str, body: str) -> None:
    region = doc.regions[doc.index(anchor)]
    current = HeadingLine.parse(region.lines[0])
    _set_heading(region, HeadingLine(current.level, heading, current.anchor, current.attrs))
    _set_body(region, body)


def source_set_authority(doc: Source, anchor: str, word: str) -> None:
    region = doc.regions[doc.index(anchor)]
    _set_heading(region, HeadingLine.parse(region.lines[0]).with_authority(word))


def source_remove(doc: Source, anchor: str) -> None:
    """The clause and its subsections go."""
    i = doc.index(anchor)
    del doc.regions[i : doc.subtree_end(i)]
    if i > 0:
        doc.regions[i - 1].touched = True  # it may now be last, or need a gap


def source_add(
    doc: Source,
    *,
    anchor: str,
    heading: str,
    authority: str,
    body: str,
    parent_anchor: str,
    after_anchor: str,
) -> None:
    at, level = _place(doc, parent_anchor, after_anchor)
    doc.regions.insert(at, _new_region(anchor, level, heading, authority, body))


def source_move(doc: Source, anchor: str, *, parent_anchor: str, after_anchor: str) -> None:
    """The clause moves with its subsections; their heading levels follow the new place."""
    i = doc.index(anchor)
    moving = doc.regions[i : doc.subtree_end(i)]
    del doc.regions[i : doc.subtree_end(i)]
    if i > 0:
        doc.regions[i - 1].touched = True
    at, level = _place(doc, parent_anchor, after_anchor)
    delta = level - moving[0].level
    for region in moving:
        heading = HeadingLine.parse(region.lines[0])
        if heading.level + delta > MAX_LEVEL:
            raise RevisionError("That place is too deep for the clause and its subsections.")
        _set_heading(
            region, HeadingLine(heading.level + delta, heading.text, heading.anchor, heading.attrs)
        )
    moving[0].touched = True
    moving[-1].touched = True
    doc.regions[at:at] = moving


# --- Reads ---------------------------------------------------------------------------------


def open_draft(spec: Spec) -> Version | None:
    return Version.objects.filter(spec=spec, state=Version.State.DRAFT).order_by("-pk").first()


def _draft_texts(draft: Version) -> dict[str, ClauseText]:
    return {
        t.anchor: t
        for t in ClauseText.objects.filter(version=draft)
        .order_by("position")
        .only("pk", "anchor", "level", "source_line", "content_hash", "parent", "position")
    }


def conflict_reason(proposal: ChangeProposal, texts: dict[str, ClauseText]) -> str:
    """Why `proposal` cannot be applied to a draft whose clause texts are `texts` (by anchor);
    empty when it can."""
    if proposal.operation != Operation.ADD:
        anchor = proposal.base_text.anchor
        current = texts.get(anchor)
        if current is None:
            return f"#{anchor} is no longer in the draft."
        if current.content_hash != proposal.base_hash:
            return f"#{anchor} has changed in the draft since the proposal was written."
    elif proposal.new_anchor in texts:
        return f"#{proposal.new_anchor} is already used in the draft."
    if proposal.operation in (Operation.ADD, Operation.MOVE):
        for place in (proposal.parent_anchor, proposal.after_anchor):
            if place and place not in texts:
                return f"#{place}, where the clause goes, is no longer in the draft."
        if proposal.parent_anchor and proposal.after_anchor:
            after, parent = texts[proposal.after_anchor], texts[proposal.parent_anchor]
            if after.parent_id != parent.pk:
                return (
                    f"#{proposal.after_anchor} is no longer directly under "
                    f"#{proposal.parent_anchor} in the draft."
                )
    return ""


@dataclass(frozen=True)
class BuilderRow:
    proposal: ChangeProposal
    status: str  # applied / applicable / conflicting
    reason: str = ""


def draft_proposals(draft: Version) -> list[BuilderRow]:
    """The spec's accepted proposals and those applied to this draft, each with its status."""
    texts = _draft_texts(draft)
    rows = []
    proposals = (
        ChangeProposal.objects.filter(spec_id=draft.spec_id)
        .filter(
            state__in=(ChangeProposal.State.ACCEPTED, ChangeProposal.State.APPLIED),
        )
        .select_related("base_text", "author")
        .order_by("created_at", "pk")
    )
    for proposal in proposals:
        if proposal.state == ChangeProposal.State.APPLIED:
            if proposal.draft_id == draft.pk:
                rows.append(BuilderRow(proposal, "applied"))
            continue
        reason = conflict_reason(proposal, texts)
        rows.append(BuilderRow(proposal, "conflicting" if reason else "applicable", reason))
    return rows


# --- Writes --------------------------------------------------------------------------------


def _require_editor(user) -> None:
    if not has_role(user, EDITOR):
        raise RevisionNotAllowed("Only editors change draft versions.")


def _locked_draft(draft: Version) -> Version:
    draft = Version.objects.select_for_update().select_related("spec").get(pk=draft.pk)
    if draft.state != Version.State.DRAFT:
        raise RevisionConflict(f"Version {draft.label} is {draft.state}; its text cannot change.")
    if PublishJob.objects.filter(
        version=draft, state__in=(PublishJob.State.QUEUED, PublishJob.State.RUNNING)
    ).exists():
        raise RevisionConflict(f"Version {draft.label} is being published.")
    return draft


def _source_of(draft: Version) -> Source:
    headings = list(
        ClauseText.objects.filter(version=draft)
        .order_by("position")
        .values_list("anchor", "level", "source_line")
    )
    return source_split(draft.source_markdown, headings)


def _reimport(*, acting_user, draft: Version, text: str) -> Version:
    """Store new source for the draft (in the caller's transaction)."""
    try:
        result = version_import(
            spec=draft.spec, label=draft.label, data=text.encode("utf-8"), acting_user=acting_user
        )
    except ProtectedError:
        raise RevisionConflict(
            "Feedback was filed on this draft's clauses, so its text cannot be replaced."
        ) from None
    return result.version


def draft_start(*, acting_user, spec: Spec, label: str) -> Version:
    """A new draft whose text is the published version's source, with that version as parent.
    Refused while the spec has another open draft."""
    _require_editor(acting_user)
    label = (label or "").strip()
    try:
        label_validator(label)
    except Exception:
        raise RevisionError(
            "Use letters, digits, dots, dashes and underscores (e.g. 2026-01-15).", field="label"
        ) from None
    with transaction.atomic():
        spec = Spec.objects.select_for_update().get(pk=spec.pk)
        current = open_draft(spec)
        if current is not None:
            raise RevisionConflict(
                f"Version {current.label} is already being drafted: finish or delete it first."
            )
        if Version.objects.filter(spec=spec, label=label).exists():
            raise RevisionError(f"Version {label} already exists.", field="label")
        parent = published_version(spec)
        if parent is None:
            raise RevisionConflict("The spec has no published version to start from.")
        version = version_import(
            spec=spec,
            label=label,
            data=parent.source_markdown.encode("utf-8"),
            acting_user=acting_user,
        ).version
        if version.parent_id != parent.pk:
            version.parent = parent
            version.save(update_fields=["parent"])
        audit_record(
            actor=acting_user,
            action="version.draft_started",
            subjects=[spec, version, parent],
            visibility=Visibility.INTERNAL,
            data={"label": label, "parent": parent.label},
        )
    return version


def draft_apply_proposal(*, acting_user, draft: Version, proposal: ChangeProposal) -> Version:
    """Apply an accepted proposal to the draft's source and re-import it. A proposal whose
    clause changed in the draft since it was written is refused as conflicting (409)."""
    _require_editor(acting_user)
    with transaction.atomic():
        draft = _locked_draft(draft)
        proposal = (
            ChangeProposal.objects.select_for_update(of=("self",))
            .select_related("base_text")
            .get(pk=proposal.pk)
        )
        if proposal.spec_id != draft.spec_id:
            raise RevisionError("The proposal is for another spec.")
        if proposal.state != ChangeProposal.State.ACCEPTED:
            raise RevisionConflict(
                f"Only accepted proposals are applied; this one is "
                f"{proposal.get_state_display().lower()}."
            )
        reason = conflict_reason(proposal, _draft_texts(draft))
        if reason:
            raise ProposalConflicting(f"CONFLICTING: {reason} Nothing was applied.")
        doc = _source_of(draft)
        anchor = proposal.base_text.anchor if proposal.base_text_id else proposal.new_anchor
        if proposal.operation == Operation.EDIT:
            source_edit(doc, anchor, heading=proposal.new_heading, body=proposal.new_body_markdown)
        elif proposal.operation == Operation.AUTHORITY:
            source_set_authority(doc, anchor, proposal.new_authority)
        elif proposal.operation == Operation.REMOVE:
            source_remove(doc, anchor)
        elif proposal.operation == Operation.MOVE:
            source_move(
                doc,
                anchor,
                parent_anchor=proposal.parent_anchor,
                after_anchor=proposal.after_anchor,
            )
        else:
            source_add(
                doc,
                anchor=anchor,
                heading=proposal.new_heading,
                authority=proposal.new_authority,
                body=proposal.new_body_markdown,
                parent_anchor=proposal.parent_anchor,
                after_anchor=proposal.after_anchor,
            )
        try:
            draft = _reimport(acting_user=acting_user, draft=draft, text=source_join(doc))
        except SpecSyntaxError as exc:
            raise RevisionError(f"The proposal does not apply cleanly: {exc}") from None
        applied_anchor = "" if proposal.operation == Operation.REMOVE else anchor
        proposal_mark_applied(proposal=proposal, draft=draft, applied_anchor=applied_anchor)
        audit_record(
            actor=acting_user,
            action="proposal.applied",
            subjects=[draft.spec, draft, proposal],
            visibility=Visibility.INTERNAL,
            data={
                "proposal": proposal.pk,
                "operation": proposal.operation,
                "draft": draft.label,
                "clause": anchor,
                "source_hash": draft.source_hash,
            },
        )
    return draft


def draft_edit_clause(
    *,
    acting_user,
    draft: Version,
    anchor: str,
    heading: str,
    body_markdown: str,
    authority: str,
) -> Version:
    """Edit one clause of the draft directly: heading, text and authority word (empty: a
    grouping section). Nothing changed is not an error: the draft stays as it is."""
    _require_editor(acting_user)
    heading = (heading or "").strip()
    if not heading or "\n" in heading or "{" in heading or "}" in heading:
        raise RevisionError("A heading is one line of text, without { or }.", field="heading")
    if re.search(r"^#{1,6}(\s|$)", body_markdown or "", flags=re.MULTILINE):
        raise RevisionError(
            "The text may not contain headings (# lines); add a clause with a proposal or "
            "an upload instead.",
            field="body_markdown",
        )
    authority = (authority or "").strip()
    with transaction.atomic():
        draft = _locked_draft(draft)
        if authority and not draft.spec.authority_levels.filter(name=authority).exists():
            raise RevisionError(
                f"'{authority}' is not in this spec's authority vocabulary.", field="authority"
            )
        before = ClauseText.objects.filter(version=draft, anchor=anchor).first()
        if before is None:
            raise RevisionError(f"There is no clause #{anchor} in this draft.", field="anchor")
        doc = _source_of(draft)
        source_edit(doc, anchor, heading=heading, body=(body_markdown or "").replace("\r\n", "\n"))
        source_set_authority(doc, anchor, authority)
        text = source_join(doc)
        if text == draft.source_markdown:
            return draft
        try:
            draft = _reimport(acting_user=acting_user, draft=draft, text=text)
        except SpecSyntaxError as exc:
            raise RevisionError(str(exc), field="body_markdown") from None
        after = ClauseText.objects.get(version=draft, anchor=anchor)
        audit_record(
            actor=acting_user,
            action="version.draft_clause_edited",
            subjects=[draft.spec, draft],
            visibility=Visibility.INTERNAL,
            data={
                "draft": draft.label,
                "clause": anchor,
                "before": before.content_hash,
                "after": after.content_hash,
            },
        )
    return draft


def draft_import_markdown(*, acting_user, draft: Version, data: bytes) -> Version:
    """Replace the draft's whole text with an uploaded Markdown file. Raises SpecSyntaxError
    (naming the line) and leaves the draft as it was when the file does not parse."""
    _require_editor(acting_user)
    with transaction.atomic():
        draft = _locked_draft(draft)
        try:
            result = version_import(
                spec=draft.spec, label=draft.label, data=data, acting_user=acting_user
            )
        except ProtectedError:
            raise RevisionConflict(
                "Feedback was filed on this draft's clauses, so its text cannot be replaced."
            ) from None
    return result.version


def draft_delete(*, acting_user, draft: Version) -> None:
    """Delete an unpublished draft. Proposals applied to it are accepted again, waiting for
    the next draft."""
    _require_editor(acting_user)
    with transaction.atomic():
        draft = _locked_draft(draft)
        returned = list(
            ChangeProposal.objects.select_for_update()
            .filter(draft=draft, state=ChangeProposal.State.APPLIED)
            .values_list("pk", flat=True)
        )
        ChangeProposal.objects.filter(pk__in=returned).update(
            state=ChangeProposal.State.ACCEPTED, draft=None, applied_anchor="", applied_at=None
        )
        audit_record(
            actor=acting_user,
            action="version.draft_deleted",
            subjects=[draft.spec, draft],
            visibility=Visibility.INTERNAL,
            data={"label": draft.label, "proposals_returned": returned},
        )
        try:
            with transaction.atomic():
                draft.delete()
        except ProtectedError:
            raise RevisionConflict(
                "Feedback was filed on this draft, so it cannot be deleted."
            ) from None
        pagecache.bump()
