"""Markdown source of a spec version -> a tree of parsed clauses. Pure: no database, no Django.

The format (see DESIGN.md §2): headings `#`..`####` carry `{#id key=value ...}`; `authority=`
marks a rule, headings without it group rules. A worked example is a paragraph starting with
`**Example**:` followed by a `~~~xml` block of `<role>` turns and an optional `<comparison>` of
candidate `<assistant>` answers labelled `<!-- GOOD -->`, `<!-- BAD: why -->`,
`<!-- BAD[#clause]: why -->`. Commentary is an indented `!!! meta "Commentary"` block.

markdown-it-py finds the block structure (so a `#` inside a fence is never a heading); this
module then cuts the source into clauses, and each clause body into prose, commentary and
example segments. Every failure is a `SpecSyntaxError` naming the line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

from .errors import SpecSyntaxError

MAX_HEADING_LEVEL = 4
TURN_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
LABELS = ("GOOD", "OK", "BAD")
_STRAY = "*_"
ELIDED = "elided"  # the role given to `[...]` lines between turns

_HEADING_ATTRS = re.compile(
    r"^(?P<text>.*?)\s*\{#(?P<id>[^\s{}]+)(?P<attrs>(?:\s+[^\s{}]+)*)\s*\}\s*$"
)
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_:.-]{0,127}$")
_ATTR = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_-]*)=(?P<value>[^\s{}\"']+|\"[^\"]*\")$")
_EXAMPLE_TITLE = re.compile(r"^\*\*Example\*\*:?\s*:?\s*(?P<title>.*)$", re.DOTALL)
_ADMONITION = re.compile(r'^!!!\s+(?P<kind>[A-Za-z0-9_-]+)(?:\s+"(?P<title>[^"]*)")?\s*$')
_TURN_OPEN = re.compile(
    r"^<(?P<role>[a-z_]+)(?P<attrs>(?:\s+[A-Za-z_][\w-]*=\"[^\"]*\")*)\s*>\s*(?P<rest>.*)$"
)
_TURN_ATTR = re.compile(r"([A-Za-z_][\w-]*)=\"([^\"]*)\"")
_LABEL = re.compile(
    r"^<!--\s*(?P<label>GOOD|OK|BAD)\b(?:\[#(?P<clause>[^\]\s]+)\])?\s*[:,]?\s*(?P<note>.*?)\s*-->$"
)
_FOOTNOTE = re.compile(r"\[\^([A-Za-z0-9_-]+)\]")
_XREF = re.compile(r"\]\(#([A-Za-z0-9_:.-]+)\)")


@dataclass(frozen=True)
class Turn:
    """One message of an example conversation, or one candidate answer (`candidate`)."""

    role: str
    content: str
    line: int
    attributes: tuple[tuple[str, str], ...] = ()
    candidate: bool = False
    label: str | None = None
    label_note: str = ""
    label_clause: str | None = None


@dataclass(frozen=True)
class Example:
    title: str
    position: int
    line: int
    source: str
    turns: tuple[Turn, ...]

    @property
    def content_hash(self) -> str:
        return sha256_text(self.source)


@dataclass(frozen=True)
class Segment:
    """A piece of a clause body in reading order: `prose` markdown, a `commentary` block (its
    markdown dedented, with its title), or a reference to `example` number `example_index`."""

    kind: str
    markdown: str = ""
    title: str = ""
    example_index: int = -1


@dataclass(frozen=True)
class ParsedClause:
    anchor: str
    heading: str
    level: int
    number: str
    parent_anchor: str | None
    position: int
    authority: str | None
    attributes: tuple[tuple[str, str], ...]
    body_markdown: str
    line: int
    segments: tuple[Segment, ...]
    examples: tuple[Example, ...]
    footnotes: tuple[str, ...]
    xrefs: tuple[str, ...]

    @property
    def content_hash(self) -> str:
        """Hash of what a reader sees change: heading, authority, attributes and body."""
        attrs = " ".join(f"{k}={v}" for k, v in self.attributes)
        return sha256_text(f"{self.heading}\n{self.authority or ''}\n{attrs}\n{self.body_markdown}")


@dataclass(frozen=True)
class ParsedSpec:
    clauses: tuple[ParsedClause, ...]
    source_hash: str
    warnings: tuple[str, ...] = field(default=())

    @property
    def example_count(self) -> int:
        return sum(len(c.examples) for c in self.clauses)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decode_source(data: bytes, *, max_bytes: int) -> str:
    """Bytes of a file -> normalised text (LF line ends, no BOM), or a SpecSyntaxError."""
    if len(data) > max_bytes:
        raise SpecSyntaxError(
            f"the file is {len(data):,} bytes; the limit is {max_bytes:,} bytes", line=None
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecSyntaxError(
            f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})", line=line
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    nul = text.find("\x00")
    if nul >= 0:
        raise SpecSyntaxError(
            "the file contains a NUL character", line=text.count("\n", 0, nul) + 1
        )
    if not text.strip():
        raise SpecSyntaxError("the file is empty", line=None)
    return text


def parse_spec(
    data: bytes | str,
    *,
    authority_vocabulary: Collection[str],
    max_bytes: int = 5 * 1024 * 1024,
) -> ParsedSpec:
    """Parse a whole spec version. `authority_vocabulary` is the spec's list of allowed words."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    source_hash = hashlib.sha256(data).hexdigest()
    text = decode_source(data, max_bytes=max_bytes)
    lines = text.split("\n")
    tokens = _block_tokens(text)
    _check_fences_closed(tokens, lines)

    headings = [
        (tok.map[0], int(tok.tag[1]), tokens[i + 1].content)
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open" and tok.level == 0 and int(tok.tag[1]) <= MAX_HEADING_LEVEL
    ]
    if not headings:
        raise SpecSyntaxError("no headings found: a spec starts with `# Title {#id}`", line=1)
    preamble = "\n".join(lines[: headings[0][0]]).strip()
    if preamble:
        first = next(i for i, ln in enumerate(lines) if ln.strip())
        raise SpecSyntaxError("text before the first heading", line=first + 1)

    vocabulary = set(authority_vocabulary)
    clauses: list[ParsedClause] = []
    seen: dict[str, int] = {}
    example_titles: dict[str, int] = {}
    stack: list[tuple[int, str]] = []  # (level, anchor) of open ancestors
    counters = [0] * (MAX_HEADING_LEVEL + 1)
    previous_level = 0
    warnings: list[str] = []

    for index, (start, level, raw_heading) in enumerate(headings):
        line_no = start + 1
        heading_line = lines[start]
        if not heading_line.startswith("#"):
            raise SpecSyntaxError("headings must be written with `#` (ATX style)", line=line_no)
        if level > previous_level + 1:
            raise SpecSyntaxError(
                f"heading level jumps from {previous_level} to {level}", line=line_no
            )
        previous_level = level
        heading, anchor, attributes = _parse_heading(raw_heading, line_no)
        if anchor in seen:
            raise SpecSyntaxError(
                f"duplicate id #{anchor} (first used on line {seen[anchor]})", line=line_no
            )
        seen[anchor] = line_no
        authority = dict(attributes).get("authority")
        if authority is not None and authority not in vocabulary:
            allowed = ", ".join(sorted(vocabulary)) or "none defined"
            raise SpecSyntaxError(
                f"authority '{authority}' is not in this spec's vocabulary ({allowed})",
                line=line_no,
            )
        other_attributes = tuple((k, v) for k, v in attributes if k != "authority")

        while stack and stack[-1][0] >= level:
            stack.pop()
        parent_anchor = stack[-1][1] if stack else None
        stack.append((level, anchor))
        counters[level] += 1
        for deeper in range(level + 1, MAX_HEADING_LEVEL + 1):
            counters[deeper] = 0
        number = ".".join(str(counters[lv]) for lv in range(1, level + 1))

        end = headings[index + 1][0] if index + 1 < len(headings) else len(lines)
        body_start = start + 1
        body_lines = lines[body_start:end]
        body_tokens = [
            t
            for t in tokens
            if t.map
            and body_start <= t.map[0] < end
            and (t.level == 0 or (t.level == 1 and t.type == "inline"))
        ]
        segments, examples = _segment_body(lines, body_start, end, body_tokens, warnings)
        for example in examples:
            if example.title in example_titles:
                raise SpecSyntaxError(
                    f"duplicate example title '{example.title}' "
                    f"(first used on line {example_titles[example.title]})",
                    line=example.line,
                )
            example_titles[example.title] = example.line
        body = "\n".join(body_lines).strip("\n")
        clauses.append(
            ParsedClause(
                anchor=anchor,
                heading=heading,
                level=level,
                number=number,
                parent_anchor=parent_anchor,
                position=index,
                authority=authority,
                attributes=other_attributes,
                body_markdown=body,
                line=line_no,
                segments=segments,
                examples=examples,
                footnotes=tuple(dict.fromkeys(_FOOTNOTE.findall(body))),
                xrefs=tuple(dict.fromkeys(_XREF.findall(body))),
            )
        )

    for clause in clauses:
        missing = [x for x in clause.xrefs if x not in seen]
        if missing:
            warnings.append(
                f"line {clause.line}: #{clause.anchor} links to unknown ids: "
                + ", ".join(f"#{m}" for m in missing)
            )
    return ParsedSpec(clauses=tuple(clauses), source_hash=source_hash, warnings=tuple(warnings))


_md = MarkdownIt("commonmark")


def _block_tokens(text: str) -> list:
    return _md.parse(text)


def _check_fences_closed(tokens: list, lines: list[str]) -> None:
    """markdown-it lets an unclosed fence run to the end of the file, swallowing every heading
    after it. Refuse that instead, naming the line where the block opened."""
    for tok in tokens:
        if tok.type != "fence" or not tok.map:
            continue
        start, end = tok.map
        last = lines[end - 1].strip() if end - 1 > start else ""
        marker = tok.markup
        closed = (
            end - 1 > start
            and last.startswith(marker[0] * len(marker))
            and not last.strip(marker[0])
        )
        if not closed:
            kind = "example block" if tok.info.strip() == "xml" else "code block"
            raise SpecSyntaxError(f"{kind} opened here never closes", line=start + 1)


def _parse_heading(raw: str, line_no: int) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    match = _HEADING_ATTRS.match(raw.strip())
    if not match:
        raise SpecSyntaxError("heading has no {#id}; every heading needs one", line=line_no)
    anchor = match.group("id")
    if not _ID.match(anchor):
        raise SpecSyntaxError(f"'{anchor}' is not a valid id", line=line_no)
    heading = match.group("text").strip()
    if not heading:
        raise SpecSyntaxError("heading has no text", line=line_no)
    attributes: list[tuple[str, str]] = []
    for item in match.group("attrs").split():
        attr = _ATTR.match(item)
        if not attr:
            raise SpecSyntaxError(
                f"heading attribute '{item}' is not written as key=value", line=line_no
            )
        key, value = attr.group("key"), attr.group("value").strip('"')
        if key in dict(attributes):
            raise SpecSyntaxError(f"heading attribute '{key}' is given twice", line=line_no)
        attributes.append((key, value))
    return heading, anchor, tuple(attributes)


def _segment_body(
    lines: list[str], start: int, end: int, tokens: list, warnings: list[str]
) -> tuple[tuple[Segment, ...], tuple[Example, ...]]:
    """Cut a clause body (lines[start:end]) into prose, commentary and examples."""
    segments: list[Segment] = []
    examples: list[Example] = []
    prose: list[str] = []
    cursor = start

    def flush_prose(upto: int) -> None:
        chunk = "\n".join(prose + lines[cursor:upto]).strip("\n")
        prose.clear()
        if chunk.strip():
            segments.append(Segment(kind="prose", markdown=chunk))

    # Example titles and their blocks, found by markdown-it's top-level tokens.
    example_starts: dict[
        int, tuple[int, str, int]
    ] = {}  # title line -> (fence token idx, title, end)
    for i, tok in enumerate(tokens):
        if tok.type != "paragraph_open":
            continue
        inline = tokens[i + 1].content
        title_match = _EXAMPLE_TITLE.match(inline) if inline.startswith("**Example**") else None
        if not title_match:
            continue
        title = " ".join(title_match.group("title").split())
        title_line = tok.map[0]
        # The next block after the title paragraph (closing tokens carry no line map).
        fence_index = next(
            (j for j in range(i + 2, len(tokens)) if tokens[j].level == 0), len(tokens)
        )
        fence = tokens[fence_index] if fence_index < len(tokens) else None
        if fence is None or fence.type != "fence" or fence.info.strip() != "xml":
            raise SpecSyntaxError(
                "**Example** is not followed by a ~~~xml conversation block", line=title_line + 1
            )
        if not title:
            raise SpecSyntaxError("**Example** has no title", line=title_line + 1)
        example_starts[title_line] = (fence_index, title, fence.map[1])

    fenced = {
        n
        for tok in tokens
        if tok.type in ("fence", "code_block") and tok.map
        for n in range(tok.map[0], tok.map[1])
    }
    line = start
    while line < end:
        if line in example_starts:
            fence_index, title, block_end = example_starts[line]
            flush_prose(line)
            fence = tokens[fence_index]
            example = _parse_example(
                title=title,
                position=len(examples),
                title_line=line,
                fence_start=fence.map[0],
                fence_end=fence.map[1],
                lines=lines,
                warnings=warnings,
            )
            examples.append(example)
            segments.append(Segment(kind="example", example_index=example.position))
            line = block_end
            cursor = line
            continue
        admonition = None if line in fenced else _ADMONITION.match(lines[line])
        if admonition:
            flush_prose(line)
            block_end = line + 1
            while block_end < end and (
                lines[block_end].startswith(("    ", "\t")) or not lines[block_end].strip()
            ):
                block_end += 1
            # Trailing blank lines belong to the prose after the block.
            while block_end > line + 1 and not lines[block_end - 1].strip():
                block_end -= 1
            content = [_dedent(ln) for ln in lines[line + 1 : block_end]]
            if not any(ln.strip() for ln in content):
                raise SpecSyntaxError("!!! block has no indented content", line=line + 1)
            segments.append(
                Segment(
                    kind="commentary",
                    markdown="\n".join(content).strip("\n"),
                    title=admonition.group("title") or admonition.group("kind").title(),
                )
            )
            line = block_end
            cursor = line
            continue
        line += 1
    flush_prose(end)
    return tuple(segments), tuple(examples)


def _dedent(line: str) -> str:
    if line.startswith("    "):
        return line[4:]
    if line.startswith("\t"):
        return line[1:]
    return line


def _parse_example(
    *,
    title: str,
    position: int,
    title_line: int,
    fence_start: int,
    fence_end: int,
    lines: list[str],
    warnings: list[str],
) -> Example:
    """Parse the turns inside a ~~~xml block (lines fence_start+1 .. fence_end-2)."""
    turns: list[Turn] = []
    in_comparison = False
    comparison_line = 0
    current: dict | None = None
    body: list[str] = []

    for index in range(fence_start + 1, fence_end - 1):
        raw = lines[index]
        stripped = raw.strip()
        line_no = index + 1
        if current is not None:
            if stripped == f"</{current['role']}>":
                turns.append(
                    Turn(
                        role=current["role"],
                        content="\n".join(body).strip("\n"),
                        line=current["line"],
                        attributes=current["attributes"],
                        candidate=current["candidate"],
                        label=current["label"],
                        label_note=current["note"],
                        label_clause=current["clause"],
                    )
                )
                current = None
                body = []
            else:
                body.append(raw)
            continue
        if not stripped:
            continue
        if stripped[0] in _STRAY and "<" in stripped:
            # Tolerate stray emphasis marks before a tag (`*</comparison>` in 2025-02-12).
            cleaned = stripped.lstrip(_STRAY)
            if cleaned.startswith("<"):
                warnings.append(
                    f"line {line_no}: ignored stray '{stripped[: len(stripped) - len(cleaned)]}' before a tag"
                )
                stripped = cleaned
        if stripped == "<comparison>":
            if in_comparison:
                raise SpecSyntaxError("<comparison> inside another <comparison>", line=line_no)
            in_comparison, comparison_line = True, line_no
            continue
        if stripped == "</comparison>":
            if not in_comparison:
                raise SpecSyntaxError("</comparison> without an opening <comparison>", line=line_no)
            in_comparison = False
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            # An editorial elision between turns, such as `[...]`: kept as its own turn.
            turns.append(Turn(role=ELIDED, content=stripped, line=line_no, candidate=in_comparison))
            continue
        opened = _TURN_OPEN.match(stripped)
        if not opened or opened.group("role") not in TURN_ROLES:
            raise SpecSyntaxError(
                "expected a <system>, <developer>, <user>, <assistant>, <tool> or <comparison> "
                f"line in the example, found: {stripped[:60]}",
                line=line_no,
            )
        role = opened.group("role")
        rest = opened.group("rest").strip()
        label = note = clause = None
        if rest.startswith("<!--"):
            label_match = _LABEL.match(rest)
            if not label_match:
                raise SpecSyntaxError(
                    "answer label must read <!-- GOOD -->, <!-- OK -->, <!-- BAD -->, "
                    "<!-- BAD: reason --> or <!-- BAD[#clause_id] -->",
                    line=line_no,
                )
            label, clause, note = (
                label_match.group("label"),
                label_match.group("clause"),
                label_match.group("note"),
            )
            rest = ""
        if rest:
            if rest.endswith(f"</{role}>"):
                inner = rest[: -len(f"</{role}>")]
                turns.append(
                    Turn(
                        role=role,
                        content=inner.strip(),
                        line=line_no,
                        attributes=tuple(_TURN_ATTR.findall(opened.group("attrs"))),
                        candidate=in_comparison,
                    )
                )
                continue
            raise SpecSyntaxError(f"unexpected text after <{role}>: {rest[:60]}", line=line_no)
        current = {
            "role": role,
            "line": line_no,
            "attributes": tuple(_TURN_ATTR.findall(opened.group("attrs"))),
            "candidate": in_comparison,
            "label": label,
            "note": note or "",
            "clause": clause,
        }
    if current is not None:
        raise SpecSyntaxError(f"<{current['role']}> opened here never closes", line=current["line"])
    if in_comparison:
        raise SpecSyntaxError("<comparison> opened here never closes", line=comparison_line)
    if not turns:
        raise SpecSyntaxError("example has no conversation turns", line=title_line + 1)
    source = "\n".join(lines[title_line:fence_end])
    return Example(
        title=title, position=position, line=title_line + 1, source=source, turns=tuple(turns)
    )
