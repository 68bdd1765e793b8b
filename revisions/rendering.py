"""Markdown -> sanitised HTML, in one place.

markdown-it-py's `js-default` preset escapes raw HTML instead of passing it through; nh3 then
removes anything outside an allowlist (no script, style, iframe, svg, form; no on*, style, id,
hx-* attributes), and only http(s), mailto and in-page links survive. Spec text and, later,
user text go through the same pipeline; spec text additionally gets cross references
(`[?](#id)` -> a link named after the target clause) and evaluation-prompt markers
(`[^abcd]` -> a superscript reference that is not part of the selectable text).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

_BASE_TAGS = {
    "p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "del", "s", "sup", "sub", "table", "thead", "tbody", "tr", "th", "td",
    "h1", "h2", "h3", "h4", "h5", "h6", "span", "img",
}  # fmt: skip
_BASE_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
_SPEC_ATTRIBUTES = {
    **_BASE_ATTRIBUTES,
    "a": {"href", "title", "class"},
    "sup": {"class", "data-ref"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
_CLASS_VALUES = {"xref", "evalref"}


def _allow_class(tag: str, attribute: str, value: str) -> str | None:
    if attribute != "class":
        return value
    if tag == "code":
        return value if re.fullmatch(r"language-[A-Za-z0-9_+-]{1,30}", value) else None
    return value if value in _CLASS_VALUES else None


def _footnote_ref(state: StateInline, silent: bool) -> bool:
    """`[^abcd]` -> a footnote_ref token (the spec has no footnote definitions: these name
    evaluation prompts, a sentence-level anchor)."""
    match = re.compile(r"\[\^([A-Za-z0-9_-]{1,40})\]").match(state.src, state.pos)
    if not match:
        return False
    if not silent:
        token = state.push("footnote_ref", "sup", 0)
        token.meta = {"id": match.group(1)}
    state.pos = match.end()
    return True


def _render_footnote_ref(self, tokens, idx, options, env) -> str:
    ref = html.escape(tokens[idx].meta["id"])
    return f'<sup class="evalref" data-ref="{ref}"></sup>'


def _make_parser(*, breaks: bool) -> MarkdownIt:
    md = MarkdownIt("js-default", {"breaks": breaks, "linkify": False, "typographer": False})
    md.inline.ruler.before("link", "footnote_ref", _footnote_ref)
    md.add_render_rule("footnote_ref", _render_footnote_ref)
    return md


_md = _make_parser(breaks=False)
_md_breaks = _make_parser(breaks=True)


def _rewrite_xrefs(tokens, headings: Mapping[str, str]) -> None:
    """Mark in-page links as cross references; `[?](#id)` takes the target's heading."""
    for block in tokens:
        children = block.children or []
        for i, tok in enumerate(children):
            if tok.type != "link_open":
                continue
            href = tok.attrGet("href") or ""
            if not href.startswith("#"):
                continue
            tok.attrSet("class", "xref")
            target = href[1:]
            if (
                i + 2 < len(children)
                and children[i + 1].type == "text"
                and children[i + 1].content == "?"
                and children[i + 2].type == "link_close"
            ):
                children[i + 1].content = headings.get(target, target)


def sanitize(html_text: str, *, spec: bool = False) -> str:
    """The allowlist sanitiser. `spec=True` keeps the classes our own renderer adds."""
    return nh3.clean(
        html_text,
        tags=_BASE_TAGS,
        attributes=_SPEC_ATTRIBUTES if spec else _BASE_ATTRIBUTES,
        attribute_filter=_allow_class,
        url_schemes=_URL_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc" if not spec else "noopener noreferrer",
        strip_comments=True,
    )


def render_markdown(
    text: str, *, headings: Mapping[str, str] | None = None, breaks: bool = False, spec: bool = True
) -> str:
    """Block markdown -> sanitised HTML."""
    md = _md_breaks if breaks else _md
    tokens = md.parse(text)
    if spec:
        _rewrite_xrefs(tokens, headings or {})
    return sanitize(md.renderer.render(tokens, md.options, {}), spec=spec)


def render_inline(text: str, *, headings: Mapping[str, str] | None = None) -> str:
    """One line of markdown (a heading, an example title) -> sanitised inline HTML."""
    tokens = _md.parseInline(text)
    _rewrite_xrefs(tokens, headings or {})
    return sanitize(_md.renderer.render(tokens, _md.options, {}), spec=True)


EXAMPLE_MARKER = "<!--example:{}-->"
EXAMPLE_MARKER_RE = re.compile(r"<!--example:(\d+)-->")


def commentary_html(title: str, inner_html: str) -> str:
    return (
        f'<aside class="commentary" aria-label="{html.escape(title)}">'
        f'<p class="commentary-title">{html.escape(title)}</p>{inner_html}</aside>'
    )


def render_segments(segments, *, headings: Mapping[str, str]) -> str:
    """A clause body's segments -> HTML with a marker where each example goes.

    Examples are drawn at page-render time from their own rows (their labels are translated),
    so the stored HTML only says where they sit. Markers are added after sanitising, so no
    source text can forge one."""
    parts = []
    for segment in segments:
        if segment.kind == "prose":
            parts.append(render_markdown(segment.markdown, headings=headings))
        elif segment.kind == "commentary":
            inner = render_markdown(segment.markdown, headings=headings)
            parts.append(commentary_html(segment.title, inner))
        elif segment.kind == "example":
            parts.append(EXAMPLE_MARKER.format(segment.example_index))
    return "\n".join(parts)


class _TextExtractor(HTMLParser):
    _BLOCKS = {"p", "li", "pre", "blockquote", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "aside"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in self._BLOCKS or tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data) -> None:
        self.parts.append(data)


def plain_text(html_text: str) -> str:
    """The text a reader sees (and can select), one block per line, whitespace collapsed:
    what passages are anchored against. Example markers and eval references add nothing."""
    extractor = _TextExtractor()
    extractor.feed(html_text)
    text = "".join(extractor.parts)
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
