"""Passage selectors, pure: check that a W3C TextQuote (exact, prefix, suffix) and TextPosition
(start, end) really name a passage of a clause's plain text."""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTEXT = 32  # characters of prefix/suffix kept with a quote


@dataclass(frozen=True)
class Passage:
    exact: str
    prefix: str
    suffix: str
    start: int
    end: int


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _collapse(text: str) -> str:
    """Whitespace runs to one space, keeping the edges (context ends or starts with a space)."""
    return re.sub(r"\s+", " ", text)


def passage_locate(
    text: str, *, exact: str, prefix: str = "", suffix: str = "", start: int | None = None
) -> Passage | None:
    """The passage of `text` that the selectors name, or None when the quote is not there.

    The position wins when it points at the quote; otherwise the quote is looked up, using
    prefix and suffix to choose among repeats. Whitespace differences from the browser's
    selection (line breaks, doubled spaces) are forgiven."""
    exact = _normalise(exact)
    if not exact:
        return None
    original = text
    # plain_text separates blocks with single newlines and has no other runs of whitespace, so
    # this keeps every offset while letting a quote run across paragraphs.
    text = text.replace("\n", " ")
    if start is not None and start >= 0 and text[start : start + len(exact)] == exact:
        return _passage(original, start, start + len(exact))
    candidates = []
    at = text.find(exact)
    while at != -1:
        candidates.append(at)
        at = text.find(exact, at + 1)
    if not candidates:
        return None

    def score(position: int) -> tuple[int, int]:
        before = text[max(0, position - CONTEXT) : position]
        after = text[position + len(exact) : position + len(exact) + CONTEXT]
        context = int(bool(prefix) and before.endswith(_collapse(prefix)[-CONTEXT:])) + int(
            bool(suffix) and after.startswith(_collapse(suffix)[:CONTEXT])
        )
        distance = abs(position - start) if start is not None else 0
        return (-context, distance)

    best = min(candidates, key=score)
    return _passage(original, best, best + len(exact))


def _passage(text: str, start: int, end: int) -> Passage:
    return Passage(
        exact=text[start:end],
        prefix=text[max(0, start - CONTEXT) : start],
        suffix=text[end : end + CONTEXT],
        start=start,
        end=end,
    )
