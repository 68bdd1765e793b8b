"""Extension points of the reading pages, for apps built on top of revisions.

`revisions` never imports the apps that build on it (feedback, later others); they register a
`ReaderHook` here from their `AppConfig.ready()` instead. The reader body is rendered once per
version and served from memory, so it cannot carry per-viewer content: it carries one marker per
clause heading (`clause_marker`), and `fill_prepared` swaps the markers for what the hooks
return for this viewer, with plain string work on the cached text. A hook should answer for all
clauses of a page with one query.

Hooks return HTML. Anything that is not already marked safe (a `SafeString` from a template or
`format_html`) is escaped before it reaches the page."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.html import conditional_escape, format_html_join
from django.utils.safestring import SafeString

from .models import ChangeProposal, ClauseText, Version

_MARKER_PREFIX = "<!--clause-extras:"
_MARKER_REF_RE = re.compile(r"(\d+):([A-Za-z0-9_.-]{1,128})")


def clause_marker(pk: int, anchor: str) -> str:
    """The placeholder the cached reader body carries in each clause heading (written by
    `revisions/_clause.html`). Stored spec HTML has its comments stripped when sanitised, so
    no source text can forge one."""
    return f"{_MARKER_PREFIX}{int(pk)}:{anchor}-->"


@dataclass(frozen=True)
class ClauseRef:
    pk: int
    anchor: str


@dataclass(frozen=True)
class ClausePageExtras:
    heading: str = ""  # next to the clause heading
    section: str = ""  # below the clause


class ReaderHook:
    """Override what you need; the defaults add nothing."""

    def reader_extras(
        self, *, request: HttpRequest, version: Version, clauses: Sequence[ClauseRef]
    ) -> Mapping[int, str]:
        """{clause text pk: HTML for that clause's heading} for the whole-version reader."""
        return {}

    def clause_page_extras(
        self, *, request: HttpRequest, version: Version, clause_text: ClauseText
    ) -> ClausePageExtras:
        """HTML for one clause's own page."""
        return ClausePageExtras()

    def page_end(self, *, request: HttpRequest) -> str:
        """HTML at the end of the reading pages (script tags, with the CSP nonce)."""
        return ""

    def proposal_extras(self, *, request: HttpRequest, proposal: ChangeProposal) -> str:
        """HTML for a change proposal's staff page (e.g. the feedback it answers)."""
        return ""

    def proposal_form_url(self, *, request: HttpRequest, reference: str) -> str:
        """Where to draft a proposal from `reference` (the `?item=` of the new-proposal
        page), when this app knows it; empty otherwise."""
        return ""

    def history_extras(
        self, *, request: HttpRequest, spec: str, entries: Sequence
    ) -> Mapping[str, str]:
        """{version label: HTML} for a clause's history page (`spec`: the spec's slug;
        `entries`: its `revisions.api.history.HistoryEntry` list, oldest first): what lies
        behind the change in that version (the feedback incorporated, the decisions)."""
        return {}

    def history_data(self, *, viewer, spec: str, entries: Sequence) -> Mapping[str, list[dict]]:
        """{version label: [plain JSON-able dicts]} for the clause history API, the same
        content as `history_extras`, only what `viewer` may see."""
        return {}

    def changes_extras(
        self, *, request: HttpRequest, version: Version, links: Sequence
    ) -> Mapping[int | str, str]:
        """HTML for a version's changes page (`links`: its LineageLink rows): keyed by a link's
        pk, or by a new clause id (attached to the link that leads to it); the key "" is
        HTML for the page as a whole. The feedback behind each change goes here."""
        return {}


_hooks: list[ReaderHook] = []


def register(hook: ReaderHook) -> ReaderHook:
    """Add a hook once (ready() may run more than once in tests)."""
    if not any(type(existing) is type(hook) for existing in _hooks):
        _hooks.append(hook)
    return hook


def registered() -> tuple[ReaderHook, ...]:
    return tuple(_hooks)


def _safe(html: str) -> str:
    return str(conditional_escape(html))


@dataclass(frozen=True)
class PreparedBody:
    """A cached reader body cut at its clause markers once, kept as UTF-8 bytes, so a request
    only joins bytes: no scanning, no re-encoding of a few hundred KB per request."""

    head: bytes
    refs: tuple[ClauseRef, ...]
    tails: tuple[bytes, ...]  # what follows each marker


def prepare_body(body: str) -> PreparedBody:
    pieces = body.split(_MARKER_PREFIX)
    head = pieces[0]
    refs: list[ClauseRef] = []
    tails: list[str] = []
    for piece in pieces[1:]:
        end = piece.find("-->")
        match = _MARKER_REF_RE.fullmatch(piece, 0, end) if end != -1 else None
        if match is None:  # not one of ours: keep it as it was
            if tails:
                tails[-1] += _MARKER_PREFIX + piece
            else:
                head += _MARKER_PREFIX + piece
            continue
        refs.append(ClauseRef(int(match.group(1)), match.group(2)))
        tails.append(piece[end + 3 :])
    return PreparedBody(
        head=head.encode("utf-8"),
        refs=tuple(refs),
        tails=tuple(t.encode("utf-8") for t in tails),
    )


def fill_prepared(prepared: PreparedBody, *, request: HttpRequest, version: Version) -> bytes:
    """The body with each clause marker replaced by the hooks' HTML for this viewer."""
    joined: dict[int, str] = {}
    if prepared.refs:
        for hook in _hooks:
            extras = hook.reader_extras(request=request, version=version, clauses=prepared.refs)
            for pk, html in extras.items():
                joined[pk] = joined.get(pk, "") + _safe(html)
    out = [prepared.head]
    for ref, tail in zip(prepared.refs, prepared.tails, strict=True):
        extra = joined.get(ref.pk)
        if extra:
            out.append(extra.encode("utf-8"))
        out.append(tail)
    return b"".join(out)


def clause_page_extras(
    *, request: HttpRequest, version: Version, clause_text: ClauseText
) -> ClausePageExtras:
    extras = [
        hook.clause_page_extras(request=request, version=version, clause_text=clause_text)
        for hook in _hooks
    ]
    return ClausePageExtras(
        heading=_join(e.heading for e in extras), section=_join(e.section for e in extras)
    )


def page_end(*, request: HttpRequest) -> SafeString:
    return _join(hook.page_end(request=request) for hook in _hooks)


def proposal_extras(*, request: HttpRequest, proposal: ChangeProposal) -> SafeString:
    return _join(hook.proposal_extras(request=request, proposal=proposal) for hook in _hooks)


def proposal_form_url(*, request: HttpRequest, reference: str) -> str:
    for hook in _hooks:
        url = hook.proposal_form_url(request=request, reference=reference)
        if url:
            return url
    return ""


def history_extras(*, request: HttpRequest, spec: str, entries: Sequence) -> dict[str, SafeString]:
    """{version label: joined HTML} from every hook, for a clause's history page."""
    joined: dict[str, list[str]] = {}
    for hook in _hooks:
        for label, html in hook.history_extras(request=request, spec=spec, entries=entries).items():
            joined.setdefault(label, []).append(html)
    return {label: _join(parts) for label, parts in joined.items()}


def history_data(*, viewer, spec: str, entries: Sequence) -> dict[str, list[dict]]:
    """{version label: [dicts]} from every hook, for the clause history API."""
    joined: dict[str, list[dict]] = {}
    for hook in _hooks:
        for label, rows in hook.history_data(viewer=viewer, spec=spec, entries=entries).items():
            joined.setdefault(label, []).extend(rows)
    return joined


def changes_extras(
    *, request: HttpRequest, version: Version, links: Sequence
) -> tuple[dict[int, SafeString], SafeString]:
    """({link pk: joined HTML}, page HTML) from every hook, for a version's changes page. Keys
    naming a new clause id are attached to the link(s) leading to that clause."""
    by_anchor: dict[str, list[int]] = {}
    for link in links:
        anchor = link.new_text.anchor if link.new_text_id else ""
        if anchor:
            by_anchor.setdefault(anchor, []).append(link.pk)
    joined: dict[int, list[str]] = {}
    page: list[str] = []
    for hook in _hooks:
        for key, html in hook.changes_extras(request=request, version=version, links=links).items():
            if key == "":
                page.append(html)
            elif isinstance(key, int):
                joined.setdefault(key, []).append(html)
            else:
                for pk in by_anchor.get(key, ()):
                    joined.setdefault(pk, []).append(html)
    return {pk: _join(parts) for pk, parts in joined.items()}, _join(page)


def _join(fragments: Iterable[str]) -> SafeString:
    # format_html_join escapes whatever is not already safe.
    return format_html_join("", "{}", ((fragment,) for fragment in fragments))


# The approval rule (how many distinct reviewers' accepts a change needs, by the clause's
# authority rank) belongs to the review process, which the feedback app owns (its editable
# ReviewPolicy). Change proposals follow the same rule through this hook; until an app sets
# it, the built-in rule applies: ranks 0 and 1 (root/platform, system) need two, others one.
_approval_rule = None


def set_approval_rule(rule) -> None:
    """`rule(spec_id: int, authority_rank: int | None) -> int`."""
    global _approval_rule
    _approval_rule = rule


def accepts_required(spec_id: int, authority_rank: int | None) -> int:
    if _approval_rule is not None:
        return _approval_rule(spec_id, authority_rank)
    return 2 if authority_rank in (0, 1) else 1
