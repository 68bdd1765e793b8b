"""Services that change specs and versions. Each runs in one transaction and records its ledger
event in that same transaction, so the change and its record stand or fall together."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from modelspec_site.audit.services import audit_record

from . import pagecache, rendering
from .importing import ParsedSpec, SpecSyntaxError, parse_spec
from .models import (
    AuthorityLevel,
    ChangeProposal,
    Clause,
    ClauseText,
    Example,
    Spec,
    Version,
    label_validator,
)
from .signals import version_published

logger = logging.getLogger(__name__)

# root/platform > system > developer > user > guideline. `platform` is the word early versions
# used for what later versions split into `root` and `system`; it shares root's rank.
DEFAULT_AUTHORITY_VOCABULARY: tuple[tuple[str, int, str], ...] = (
    ("root", 0, "Cannot be overridden by system messages, developers or users."),
    ("platform", 0, "Earlier name for the top level (now root and system)."),
    ("system", 1, "Can be overridden by system messages only."),
    ("developer", 2, "Can be overridden by developers."),
    ("user", 3, "Can be overridden by users or developers."),
    ("guideline", 4, "Defaults that can be overridden implicitly."),
)


class VersionStateError(Exception):
    """The version is not in a state that allows this change."""


@dataclass(frozen=True)
class ImportResult:
    version: Version
    created: bool
    changed: bool
    published: bool
    warnings: tuple[str, ...]


def spec_ensure(
    *, slug: str, title: str | None = None, tracking_prefix: str | None = None, acting_user=None
) -> Spec:
    """The spec with this slug, created (with the default authority vocabulary) if missing."""
    with transaction.atomic():
        spec, created = Spec.objects.get_or_create(
            slug=slug,
            defaults={
                "title": title or slug.replace("-", " ").title(),
                "tracking_prefix": tracking_prefix or _default_prefix(slug),
            },
        )
        if created:
            AuthorityLevel.objects.bulk_create(
                AuthorityLevel(spec=spec, name=name, rank=rank, description=description)
                for name, rank, description in DEFAULT_AUTHORITY_VOCABULARY
            )
            audit_record(
                actor=acting_user,
                action="spec.created",
                subjects=[spec],
                data={"slug": spec.slug, "title": spec.title},
            )
    return spec


def _default_prefix(slug: str) -> str:
    """`model-spec` -> `MS`: the initials of the slug's words (at least two letters)."""
    initials = "".join(word[0] for word in slug.split("-") if word and word[0].isalpha()).upper()
    if len(initials) >= 2:
        return initials[:8]
    letters = "".join(ch for ch in slug.upper() if ch.isalpha())
    return (letters + "FB")[:2] if len(letters) < 2 else letters[:4]


def authority_ranks(spec: Spec) -> dict[str, int]:
    return dict(spec.authority_levels.values_list("name", "rank"))


def version_import(
    *,
    spec: Spec,
    label: str,
    data: bytes,
    acting_user=None,
    publish: bool = False,
) -> ImportResult:
    """Parse `data` and store it as version `label` of `spec`, all in one transaction.

    Importing the same bytes again changes nothing. New bytes replace a draft's text; a
    published version's text is immutable, so different bytes for it are refused. Raises
    `SpecSyntaxError` (naming the line) or `ValidationError`; nothing is written then."""
    try:
        label_validator(label)
    except ValidationError as exc:
        raise SpecSyntaxError(f"invalid label '{label}': {exc.messages[0]}", line=None) from None

    with transaction.atomic():
        spec = Spec.objects.select_for_update().get(pk=spec.pk)
        version = Version.objects.filter(spec=spec, label=label).first()
        created = changed = False
        warnings: tuple[str, ...] = ()
        if version is not None and version.source_hash == hashlib.sha256(data).hexdigest():
            pass  # the same bytes: nothing to parse, nothing to change
        elif version is not None and version.is_published_text:
            raise VersionStateError(
                f"version {label} is {version.state}; its text cannot change "
                "(import the new text under a new label)"
            )
        else:
            ranks = authority_ranks(spec)
            parsed = parse_spec(
                data, authority_vocabulary=ranks, max_bytes=settings.MODELSPEC_MAX_IMPORT_BYTES
            )
            warnings = parsed.warnings
            created = version is None
            changed = True
            if version is None:
                version = Version.objects.create(
                    spec=spec,
                    label=label,
                    parent=Version.objects.filter(spec=spec, state=Version.State.PUBLISHED).first(),
                    source_markdown=data.decode("utf-8-sig"),
                    source_hash=parsed.source_hash,
                )
            else:
                version.clause_texts.all().delete()
                version.source_markdown = data.decode("utf-8-sig")
                version.source_hash = parsed.source_hash
            _store_clauses(version, parsed, ranks)
            version.clause_count = len(parsed.clauses)
            version.example_count = parsed.example_count
            version.save()
            pagecache.bump()
            audit_record(
                actor=acting_user,
                action="version.imported" if created else "version.reimported",
                subjects=[spec, version],
                data={
                    "label": label,
                    "source_hash": parsed.source_hash,
                    "clauses": len(parsed.clauses),
                    "examples": parsed.example_count,
                    "warnings": list(parsed.warnings),
                },
                # Only drafts take new text, and drafts are internal until published (the
                # version.published event then names the label and the source hash).
                visibility="internal",
            )
        published = False
        if publish and version.state == Version.State.DRAFT:
            version = version_publish(version=version, acting_user=acting_user)
            published = True
    return ImportResult(
        version=version,
        created=created,
        changed=changed,
        published=published,
        warnings=warnings,
    )


def _store_clauses(version: Version, parsed: ParsedSpec, ranks: dict[str, int]) -> None:
    spec = version.spec
    anchors = [c.anchor for c in parsed.clauses]
    existing = dict(Clause.objects.filter(spec=spec, key__in=anchors).values_list("key", "pk"))
    missing = [Clause(spec=spec, key=a) for a in anchors if a not in existing]
    for clause in Clause.objects.bulk_create(missing):
        existing[clause.key] = clause.pk

    headings = {
        c.anchor: rendering.plain_text(rendering.render_inline(c.heading)) for c in parsed.clauses
    }
    texts: list[ClauseText] = []
    for parsed_clause in parsed.clauses:
        body_html = rendering.render_segments(parsed_clause.segments, headings=headings)
        texts.append(
            ClauseText(
                version=version,
                clause_id=existing[parsed_clause.anchor],
                anchor=parsed_clause.anchor,
                heading=parsed_clause.heading,
                heading_html=rendering.render_inline(parsed_clause.heading, headings=headings),
                level=parsed_clause.level,
                number=parsed_clause.number,
                position=parsed_clause.position,
                authority=parsed_clause.authority or "",
                authority_rank=ranks.get(parsed_clause.authority or ""),
                attributes=dict(parsed_clause.attributes),
                body_markdown=parsed_clause.body_markdown,
                body_html=body_html,
                plain_text=rendering.plain_text(body_html),
                footnotes=list(parsed_clause.footnotes),
                content_hash=parsed_clause.content_hash,
                source_line=parsed_clause.line,
            )
        )
    texts = ClauseText.objects.bulk_create(texts)
    by_anchor = {t.anchor: t for t in texts}
    for text, parsed_clause in zip(texts, parsed.clauses, strict=True):
        if parsed_clause.parent_anchor:
            text.parent = by_anchor[parsed_clause.parent_anchor]
    ClauseText.objects.bulk_update([t for t in texts if t.parent_id], ["parent"])

    examples: list[Example] = []
    slugs: set[str] = set()
    for text, parsed_clause in zip(texts, parsed.clauses, strict=True):
        for parsed_example in parsed_clause.examples:
            base = slugify(rendering.plain_text(rendering.render_inline(parsed_example.title)))[
                :100
            ]
            slug, n = base or "example", 1
            while slug in slugs:
                n += 1
                slug = f"{base}-{n}"
            slugs.add(slug)
            examples.append(
                Example(
                    version=version,
                    clause_text=text,
                    position=parsed_example.position,
                    title=parsed_example.title,
                    title_html=rendering.render_inline(parsed_example.title, headings=headings),
                    slug=slug,
                    turns=[_turn_dict(turn, headings) for turn in parsed_example.turns],
                    source_markdown=parsed_example.source,
                    content_hash=parsed_example.content_hash,
                    source_line=parsed_example.line,
                )
            )
    Example.objects.bulk_create(examples)


def _turn_dict(turn, headings: dict[str, str]) -> dict:
    return {
        "role": turn.role,
        "attributes": dict(turn.attributes),
        "content": turn.content,
        "content_html": rendering.render_markdown(turn.content, headings=headings, breaks=True),
        "candidate": turn.candidate,
        "label": turn.label,
        "label_note": turn.label_note,
        "label_clause": turn.label_clause,
    }


ProgressFn = Callable[[str, int, int], None]


def _quiet_progress(progress: ProgressFn | None) -> ProgressFn:
    """The caller's progress callback, made harmless: publishing never fails because a
    progress report could not be written."""

    def report(step: str, done: int, total: int) -> None:
        if progress is None:
            return
        try:
            progress(step, done, total)
        except Exception:  # a progress report is never worth a failed publication
            logger.warning("publish progress report failed", exc_info=True)

    return report


def version_publish(
    *, version: Version, acting_user=None, progress: ProgressFn | None = None
) -> Version:
    """Publish a draft, in one transaction: lock it; store its lineage against its parent and
    give each new clause text the identity of its predecessor; supersede the spec's current
    version; publish; mark the change proposals applied to this draft as published; record
    `version.published` (with the lineage counts by kind); and send `version_published`, whose
    listeners (feedback's carry-forward and incorporation) write in this same transaction.
    Anything that fails rolls all of it back, so a retry starts from the same draft.

    `progress(step, done, total)` is called as the work advances (never raises). The returned
    version carries `publish_result`: a JSON-able summary (lineage counts, proposals, and what
    each listener returned when it returned a dict)."""
    from . import (
        lineage_store,
    )  # helper module of the lineage; imported late to keep start-up light

    report = _quiet_progress(progress)
    with transaction.atomic():
        version = Version.objects.select_for_update().select_related("spec").get(pk=version.pk)
        if version.state != Version.State.DRAFT:
            raise VersionStateError(f"version {version.label} is already {version.state}")
        now = timezone.now()
        previous = (
            Version.objects.select_for_update()
            .filter(spec=version.spec, state=Version.State.PUBLISHED)
            .first()
        )
        if previous is not None and version.parent_id is None:
            version.parent = previous
            version.save(update_fields=["parent"])
        lineage: dict[str, int] = {}
        if version.parent_id is not None:
            report("lineage", 0, 1)
            links = lineage_store.lineage_refresh(version)
            lineage_store.lineage_apply_identity(version)
            lineage = dict(sorted(Counter(str(link.kind) for link in links).items()))
            report("lineage", 1, 1)
        if previous is not None:
            previous.state = Version.State.SUPERSEDED
            previous.superseded_at = now
            previous.save(update_fields=["state", "superseded_at"])
        pagecache.bump()
        version.state = Version.State.PUBLISHED
        version.published_at = now
        version.save(update_fields=["state", "published_at"])
        proposals = sorted(
            ChangeProposal.objects.filter(
                draft=version, state=ChangeProposal.State.APPLIED
            ).values_list("pk", flat=True)
        )
        ChangeProposal.objects.filter(pk__in=proposals).update(
            state=ChangeProposal.State.PUBLISHED, updated_at=now
        )
        audit_record(
            actor=acting_user,
            action="version.published",
            subjects=[version.spec, version] + ([previous] if previous else []),
            data={
                "label": version.label,
                "source_hash": version.source_hash,
                "supersedes": previous.label if previous else None,
                "parent": version.parent.label if version.parent_id else None,
                "lineage": lineage,
                "proposals": proposals,
            },
        )
        report("listeners", 0, 1)
        responses = version_published.send(
            sender=Version,
            version=version,
            previous=previous,
            acting_user=acting_user,
            progress=report,
        )
        report("listeners", 1, 1)
    version.publish_result = {
        "label": version.label,
        "supersedes": previous.label if previous else None,
        "lineage": lineage,
        "proposals": len(proposals),
        "listeners": {
            getattr(receiver, "__name__", type(receiver).__name__): response
            for receiver, response in responses
            if isinstance(response, dict)
        },
    }
    return version


def authority_level_set(
    *, spec: Spec, name: str, rank: int, description: str = "", acting_user
) -> AuthorityLevel:
    """Add or change a word of a spec's authority vocabulary (staff: editors)."""
    with transaction.atomic():
        level, created = AuthorityLevel.objects.select_for_update().get_or_create(
            spec=spec, name=name, defaults={"rank": rank, "description": description}
        )
        before = None if created else {"rank": level.rank, "description": level.description}
        pagecache.bump()
        level.rank, level.description = rank, description
        level.full_clean()
        level.save()
        # Ranks are the vocabulary's reading of a word, not text: existing texts follow it.
        ClauseText.objects.filter(version__spec=spec, authority=name).update(authority_rank=rank)
        audit_record(
            actor=acting_user,
            action="spec.authority_level_set",
            subjects=[spec],
            data={
                "name": name,
                "before": before,
                "after": {"rank": rank, "description": description},
            },
        )
    return level


def authority_level_delete(*, level: AuthorityLevel, acting_user) -> None:
    """Remove a word from a spec's vocabulary; refused while any clause text uses it."""
    with transaction.atomic():
        level = AuthorityLevel.objects.select_for_update().select_related("spec").get(pk=level.pk)
        used = ClauseText.objects.filter(version__spec=level.spec, authority=level.name).count()
        if used:
            raise ValidationError(
                f"'{level.name}' is used by {used} clause texts; it cannot be removed."
            )
        audit_record(
            actor=acting_user,
            action="spec.authority_level_deleted",
            subjects=[level.spec],
            data={"name": level.name, "rank": level.rank},
        )
        level.delete()


def spec_update(*, spec: Spec, title: str, description: str, acting_user) -> Spec:
    with transaction.atomic():
        spec = Spec.objects.select_for_update().get(pk=spec.pk)
        before = {"title": spec.title, "description": spec.description}
        pagecache.bump()
        spec.title, spec.description = title, description
        spec.full_clean()
        spec.save(update_fields=["title", "description"])
        audit_record(
            actor=acting_user,
            action="spec.updated",
            subjects=[spec],
            data={"before": before, "after": {"title": title, "description": description}},
        )
    return spec


def version_details_update(
    *, version: Version, changelog: str, comment_opens_at, comment_closes_at, acting_user
) -> Version:
    """The editable parts of any version: its changelog and comment period (never its text)."""
    if comment_opens_at and comment_closes_at and comment_closes_at <= comment_opens_at:
        raise ValidationError("The comment period must close after it opens.")
    with transaction.atomic():
        version = Version.objects.select_for_update().get(pk=version.pk)
        fields = ("changelog", "comment_opens_at", "comment_closes_at")
        before = {f: getattr(version, f) for f in fields}
        version.changelog = changelog
        version.comment_opens_at = comment_opens_at
        version.comment_closes_at = comment_closes_at
        version.save(update_fields=list(fields))
        audit_record(
            actor=acting_user,
            action="version.details_updated",
            subjects=[version.spec, version],
            data={
                "before": {k: _jsonable(v) for k, v in before.items()},
                "after": {f: _jsonable(getattr(version, f)) for f in fields},
            },
            visibility="internal" if version.state == Version.State.DRAFT else "public",
        )
    return version


def _jsonable(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
