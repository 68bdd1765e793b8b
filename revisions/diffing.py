"""Word-level diffs of two texts, and their HTML renderings. Pure functions, no database.

``word_diff`` returns a list of ``(op, text)`` pairs with ``op`` in ``equal``/``delete``/``insert``.
Tokens keep their whitespace, so joining the ``equal`` and ``delete`` texts gives back the old text
exactly, and joining ``equal`` and ``insert`` gives back the new one. Adjacent operations of one
kind are merged, and inside a change the deletion always comes before the insertion.

The renderings escape every piece of text, mark changes with ``<del>``/``<ins>`` (struck through
and underlined by every browser, so they read without colour) and add visually hidden "removed:"
/ "added:" labels, because screen readers do not announce ``<del>`` and ``<ins>`` by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

EQUAL = "equal"
INSERT = "insert"
DELETE = "delete"

DiffOps = list[tuple[str, str]]

# A word with the whitespace after it, a run of punctuation with the whitespace after it, or
# whitespace on its own (only at the very start of a text).
_WORD_RE = re.compile(r"\w+\s*|[^\w\s]+\s*|\s+")
# Sentences or lines, for the coarse first pass over very long, very different texts.
_CHUNK_RE = re.compile(r"[^\n.!?]*(?:[.!?]+|\n|$)\s*")

# Above this many token comparisons (len(a) * len(b) after the common ends are trimmed), the
# difference is first taken sentence by sentence and only refined word by word inside changed
# sentences that are small enough. Keeps the worst case near-linear instead of quadratic.
MAX_TOKEN_PRODUCT = 400_000


def tokenize(text: str) -> list[str]:
    """Split ``text`` into word tokens that, joined, give ``text`` back."""
    return _WORD_RE.findall(text)


def _chunks(text: str) -> list[str]:
    return [c for c in _CHUNK_RE.findall(text) if c]


def word_diff(a: str, b: str) -> DiffOps:
    """Word-level difference between ``a`` (old) and ``b`` (new)."""
    if a == b:
        return [(EQUAL, a)] if a else []
    raw: DiffOps = []
    _diff_tokens(tokenize(a), tokenize(b), raw, coarse_ok=True)
    return _cleanup(raw)


def _diff_tokens(ta: Sequence[str], tb: Sequence[str], out: DiffOps, *, coarse_ok: bool) -> None:
    # Trim the common ends first: cheap, and most edits touch a small part of a clause.
    start = 0
    limit = min(len(ta), len(tb))
    while start < limit and ta[start] == tb[start]:
        start += 1
    end_a, end_b = len(ta), len(tb)
    while end_a > start and end_b > start and ta[end_a - 1] == tb[end_b - 1]:
        end_a -= 1
        end_b -= 1
    if start:
        out.append((EQUAL, "".join(ta[:start])))
    mid_a, mid_b = ta[start:end_a], tb[start:end_b]
    if mid_a and mid_b:
        if len(mid_a) * len(mid_b) <= MAX_TOKEN_PRODUCT:
            _diff_matcher(mid_a, mid_b, out)
        elif coarse_ok:
            _diff_coarse("".join(mid_a), "".join(mid_b), out)
        else:
            out.append((DELETE, "".join(mid_a)))
            out.append((INSERT, "".join(mid_b)))
    elif mid_a:
        out.append((DELETE, "".join(mid_a)))
    elif mid_b:
        out.append((INSERT, "".join(mid_b)))
    if end_a < len(ta):
        out.append((EQUAL, "".join(ta[end_a:])))


def _diff_matcher(ta: Sequence[str], tb: Sequence[str], out: DiffOps) -> None:
    matcher = SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append((EQUAL, "".join(ta[i1:i2])))
            continue
        if i2 > i1:
            out.append((DELETE, "".join(ta[i1:i2])))
        if j2 > j1:
            out.append((INSERT, "".join(tb[j1:j2])))


def _diff_coarse(a: str, b: str, out: DiffOps) -> None:
    ca, cb = _chunks(a), _chunks(b)
    if len(ca) * len(cb) > MAX_TOKEN_PRODUCT:
        out.append((DELETE, a))
        out.append((INSERT, b))
        return
    matcher = SequenceMatcher(None, ca, cb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = "".join(ca[i1:i2]), "".join(cb[j1:j2])
        if tag == "equal":
            out.append((EQUAL, old))
        elif tag == "replace":
            _diff_tokens(tokenize(old), tokenize(new), out, coarse_ok=False)
        elif old:
            out.append((DELETE, old))
        else:
            out.append((INSERT, new))


def _cleanup(raw: Iterable[tuple[str, str]]) -> DiffOps:
    """Merge runs, put deletions before insertions, and absorb tiny equalities between changes.

    "a b c" -> "x b z" reads better as one replacement than as two changes around a lone "b ":
    an equal run shorter than the changes on both sides of it is folded into them (the
    semantic clean-up of Myers/diff-match-patch, simplified).
    """
    # groups: list of [equal_text] or [deleted_text, inserted_text] in order.
    groups: list[list[str] | tuple[str, str]] = []
    for op, text in raw:
        if not text:
            continue
        if op == EQUAL:
            if groups and isinstance(groups[-1], list):
                groups[-1][0] += text
            else:
                groups.append([text])
        else:
            if groups and isinstance(groups[-1], tuple):
                d, i = groups[-1]
            else:
                d, i = "", ""
                groups.append((d, i))
            groups[-1] = (d + text, i) if op == DELETE else (d, i + text)

    changed = True
    while changed and len(groups) >= 3:
        changed = False
        merged: list[list[str] | tuple[str, str]] = []
        k = 0
        while k < len(groups):
            g = groups[k]
            if (
                isinstance(g, list)
                and merged
                and isinstance(merged[-1], tuple)
                and k + 1 < len(groups)
                and isinstance(groups[k + 1], tuple)
            ):
                before, after = merged[-1], groups[k + 1]
                assert isinstance(after, tuple)
                eq = g[0]
                if len(eq) <= max(map(len, before)) and len(eq) <= max(map(len, after)):
                    merged[-1] = (before[0] + eq + after[0], before[1] + eq + after[1])
                    k += 2
                    changed = True
                    continue
            if isinstance(g, tuple) and merged and isinstance(merged[-1], tuple):
                prev = merged[-1]
                merged[-1] = (prev[0] + g[0], prev[1] + g[1])
            else:
                merged.append(g)
            k += 1
        groups = merged

    ops: DiffOps = []
    for g in groups:
        if isinstance(g, list):
            ops.append((EQUAL, g[0]))
        else:
            if g[0]:
                ops.append((DELETE, g[0]))
            if g[1]:
                ops.append((INSERT, g[1]))
    return ops


def old_text(ops: Iterable[tuple[str, str]]) -> str:
    return "".join(t for op, t in ops if op != INSERT)


def new_text(ops: Iterable[tuple[str, str]]) -> str:
    return "".join(t for op, t in ops if op != DELETE)


def diff_stats(ops: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Number of words removed and added (for summaries)."""
    removed = added = 0
    for op, text in ops:
        if op == DELETE:
            removed += len(text.split())
        elif op == INSERT:
            added += len(text.split())
    return {"removed": removed, "added": added}


def _text_html(text: str) -> str:
    return str(escape(text)).replace("\n", "<br>\n")


def _del_html(text: str) -> str:
    label = escape(gettext("removed:"))
    end = escape(gettext("end of removal"))
    return (
        f'<del class="diff-del"><span class="visually-hidden">[{label} </span>'
        f'{_text_html(text)}<span class="visually-hidden"> {end}]</span></del>'
    )


def _ins_html(text: str) -> str:
    label = escape(gettext("added:"))
    end = escape(gettext("end of addition"))
    return (
        f'<ins class="diff-ins"><span class="visually-hidden">[{label} </span>'
        f'{_text_html(text)}<span class="visually-hidden"> {end}]</span></ins>'
    )


def render_inline_diff(ops: Iterable[tuple[str, str]]) -> SafeString:
    """One block of text with removals in ``<del>`` and additions in ``<ins>``."""
    parts = []
    for op, text in ops:
        if op == EQUAL:
            parts.append(_text_html(text))
        elif op == DELETE:
            parts.append(_del_html(text))
        else:
            parts.append(_ins_html(text))
    return mark_safe(f'<span class="diff diff-inline">{"".join(parts)}</span>')  # noqa: S308


def side_by_side_columns(ops: Iterable[tuple[str, str]]) -> tuple[SafeString, SafeString]:
    """The old text with its removals marked, and the new text with its additions marked."""
    old_parts, new_parts = [], []
    for op, text in ops:
        if op == EQUAL:
            html = _text_html(text)
            old_parts.append(html)
            new_parts.append(html)
        elif op == DELETE:
            old_parts.append(_del_html(text))
        else:
            new_parts.append(_ins_html(text))
    return mark_safe("".join(old_parts)), mark_safe("".join(new_parts))  # noqa: S308


def render_side_by_side(
    ops: Iterable[tuple[str, str]], *, caption: str | None = None
) -> SafeString:
    """A two-column table (before, after) with header cells, for side-by-side reading."""
    old_html, new_html = side_by_side_columns(ops)
    cap = f'<caption class="visually-hidden">{escape(caption)}</caption>' if caption else ""
    before, after = escape(gettext("Before")), escape(gettext("After"))
    return mark_safe(  # noqa: S308
        f'<table class="diff diff-side">{cap}<thead><tr><th scope="col">{before}</th>'
        f'<th scope="col">{after}</th></tr></thead><tbody><tr>'
        f'<td class="diff-old">{old_html}</td><td class="diff-new">{new_html}</td>'
        "</tr></tbody></table>"
    )
