"""Re-finding a quoted passage in the clause texts that succeed the one it was quoted from.
Pure: plain strings in, a frozen result out; no database (publishing calls it through
`feedback.carry` for every open item).

Order of the search:
1. the quote, exactly (whitespace forgiven), in the primary successor: *anchored*, 100;
   prefix, suffix and the old position choose among repeats (`anchoring.passage_locate`);
2. the quote, exactly, in another successor (the other half of a split, …): *moved*;
3. a fuzzy search, word by word, for prefix + quote + suffix in the successors: the words of
   the new text that line up with the quote's words are the passage, *text_changed*, with a
   confidence from how much of the quote and of its context survived;
4. nothing good enough: *orphaned*.

The fuzzy search is bounded: candidate places come from word pairs of the quote and its
context found in the text (an index built once per text and cached), and only a window around
the best few is aligned with difflib, so its cost does not grow with the square of the text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from .anchoring import CONTEXT, passage_locate

ANCHORED = "anchored"
MOVED = "moved"
TEXT_CHANGED = "text_changed"
ORPHANED = "orphaned"

# Below this confidence a fuzzy match is no match: the item is orphaned.
ORPHAN_BELOW = 35
# An exact quote found in another successor: sure of the words, less sure it is the same place.
MOVED_CONFIDENCE = 90
MOVED_CONFIDENCE_NO_CONTEXT = 80
# How many candidate places the fuzzy search aligns per text.
CANDIDATES = 3

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Reanchored:
    outcome: str
    confidence: int  # 0-100
    text_id: int | None  # the successor it now stands on (None: none)
    start: int | None = None  # the passage in that text's plain text
    end: int | None = None
    exact: str = ""


Text = tuple[int, str]  # (clause text id, plain text)


def reanchor(
    *,
    exact: str,
    prefix: str = "",
    suffix: str = "",
    start: int | None = None,
    end: int | None = None,
    primary: Text | None,
    others: Sequence[Text] = (),
    text_changed: bool = False,
    similarity: int | None = None,
) -> Reanchored:
    """Where the passage (`exact` with its `prefix`/`suffix` context and old `start`/`end`)
    stands among the successors of its clause: `primary` (the lineage's best successor, or
    None when the clause was removed) and `others` (split siblings, merge partners).

    An item without a passage (empty `exact`) follows its clause: anchored on the primary
    successor, or text_changed (confidence = the lineage's `similarity`) when the lineage says
    the clause's text changed; orphaned when there is no successor."""
    del end  # the quote's length says the same; kept in the signature for callers' symmetry
    exact = exact or ""
    if not exact.strip():
        return _follow_clause(primary, others, text_changed=text_changed, similarity=similarity)
    texts = ([primary] if primary is not None else []) + list(others)
    if not texts:
        return Reanchored(ORPHANED, 0, None)

    if primary is not None:
        found = passage_locate(primary[1], exact=exact, prefix=prefix, suffix=suffix, start=start)
        if found is not None:
            return Reanchored(ANCHORED, 100, primary[0], found.start, found.end, found.exact)
    for text_id, plain in others:
        found = passage_locate(plain, exact=exact, prefix=prefix, suffix=suffix, start=start)
        if found is not None:
            in_context = _context_score(plain, found.start, found.end, prefix, suffix) >= 0.5
            confidence = MOVED_CONFIDENCE if in_context else MOVED_CONFIDENCE_NO_CONTEXT
            return Reanchored(MOVED, confidence, text_id, found.start, found.end, found.exact)

    best: tuple[float, Text, int, int] | None = None
    for rank, text in enumerate(texts):
        match = _fuzzy(text[1], exact=exact, prefix=prefix, suffix=suffix)
        if match is None:
            continue
        score, a, b = match
        if rank > 0 and primary is not None:
            score *= 0.9  # another clause than the one the lineage names: a little less sure
        if best is None or score > best[0]:
            best = (score, text, a, b)
    if best is None:
        return _orphan(primary)
    score, (text_id, plain), a, b = best
    confidence = min(99, round(score * 100))  # never 100: the words are not the same
    if confidence < ORPHAN_BELOW:
        return _orphan(primary)
    return Reanchored(TEXT_CHANGED, confidence, text_id, a, b, plain[a:b])


def _orphan(primary: Text | None) -> Reanchored:
    """The passage is gone. The item still stands on its clause's successor, if any."""
    return Reanchored(ORPHANED, 0, primary[0] if primary is not None else None)


def _follow_clause(
    primary: Text | None, others: Sequence[Text], *, text_changed: bool, similarity: int | None
) -> Reanchored:
    if primary is None:
        return Reanchored(ORPHANED, 0, None)
    if not text_changed:
        return Reanchored(ANCHORED, 100, primary[0])
    confidence = 100 if similarity is None else max(0, min(99, int(similarity)))
    return Reanchored(TEXT_CHANGED, confidence, primary[0])


# --- Fuzzy search ----------------------------------------------------------------------------


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().casefold(), m.start(), m.end()) for m in _WORD.finditer(text)]


@lru_cache(maxsize=512)
def _text_index(text: str) -> tuple[tuple[tuple[str, int, int], ...], dict, dict]:
    """A text's words (key, start, end), and where each word and each word pair occurs.
    Cached: publishing re-anchors many items against the same few hundred texts."""
    words = tuple(_words(text))
    singles: dict[str, list[int]] = {}
    pairs: dict[tuple[str, str], list[int]] = {}
    for i, (key, _s, _e) in enumerate(words):
        singles.setdefault(key, []).append(i)
        if i + 1 < len(words):
            pairs.setdefault((key, words[i + 1][0]), []).append(i)
    return words, singles, pairs


def _fuzzy(text: str, *, exact: str, prefix: str, suffix: str) -> tuple[float, int, int] | None:
    """(score 0-1, start, end) of the best approximate place of the quote in `text`."""
    words, singles, pairs = _text_index(text)
    if not words:
        return None
    before = [w[0] for w in _words(prefix[-CONTEXT:])]
    quote = [w[0] for w in _words(exact)]
    after = [w[0] for w in _words(suffix[:CONTEXT])]
    if not quote:
        return None
    # Context words cut in half by the 32-character window match nothing: drop them.
    if before and prefix[-CONTEXT:][:1].strip() and len(prefix) >= CONTEXT:
        before = before[1:]
    if after and suffix[:CONTEXT][-1:].strip() and len(suffix) >= CONTEXT:
        after = after[:-1]
    pattern = before + quote + after
    qa, qb = len(before), len(before) + len(quote)

    votes: Counter[int] = Counter()
    if len(pattern) >= 2:
        for i in range(len(pattern) - 1):
            for at in pairs.get((pattern[i], pattern[i + 1]), ()):
                votes[at - i] += 1
    if not votes:
        for i, key in enumerate(pattern):
            for at in singles.get(key, ())[:50]:
                votes[at - i] += 1
    if not votes:
        return None

    keys = [w[0] for w in words]
    slack = len(pattern) // 2 + 4
    best: tuple[float, int, int] | None = None
    tried: list[int] = []
    for offset, _n in votes.most_common(CANDIDATES * 4):
        if any(abs(offset - t) <= slack for t in tried):
            continue
        tried.append(offset)
        lo = max(0, offset - slack)
        hi = min(len(words), offset + len(pattern) + slack)
        found = _align(pattern, keys[lo:hi], qa, qb)
        if found is not None:
            score, ja, jb = found
            a, b = words[lo + ja][1], words[lo + jb - 1][2]
            # Word edges: a quote that began or ended inside a word ("it" of "it.") keeps
            # the same cut when that word survived.
            first, last = quote[0], quote[-1]
            if words[lo + ja][0].endswith(first):
                a = words[lo + ja][2] - len(first)
            if words[lo + jb - 1][0].startswith(last) and words[lo + jb - 1][1] + len(last) > a:
                b = words[lo + jb - 1][1] + len(last)
            if best is None or score > best[0]:
                best = (score, a, b)
        if len(tried) >= CANDIDATES:
            break
    return best


def _align(
    pattern: list[str], window: list[str], qa: int, qb: int
) -> tuple[float, int, int] | None:
    """Align the pattern (context + quote + context) with a window of the text; return the
    score and the window's word range [ja, jb) that lines up with the quote [qa, qb)."""
    matcher = SequenceMatcher(None, pattern, window, autojunk=False)
    ops = matcher.get_opcodes()
    ja = jb = None
    for tag, i1, i2, j1, j2 in ops:
        if ja is None and i1 <= qa < i2:
            ja = j1 + (qa - i1) if tag == "equal" else j1
        if jb is None and i1 < qb <= i2:
            jb = j1 + (qb - i1) if tag == "equal" else j2 if tag == "replace" else j1
    if ja is None or jb is None or jb <= ja:
        return None
    quote, found = pattern[qa:qb], window[ja:jb]
    words_kept = SequenceMatcher(None, quote, found, autojunk=False).ratio()
    context = pattern[:qa] + pattern[qb:]
    if context:
        around = window[max(0, ja - qa) : ja] + window[jb : jb + len(pattern) - qb]
        context_kept = SequenceMatcher(None, context, around, autojunk=False).ratio()
        score = 0.8 * words_kept + 0.2 * context_kept
    else:
        score = words_kept
    return score, ja, jb


def _context_score(text: str, start: int, end: int, prefix: str, suffix: str) -> float:
    """How well the text around [start, end) matches the quote's prefix and suffix (0-1);
    1 when there is no context to compare."""
    parts = []
    if prefix:
        parts.append(_tail_match(text[max(0, start - CONTEXT) : start], prefix[-CONTEXT:]))
    if suffix:
        parts.append(_tail_match(text[end : end + CONTEXT][::-1], suffix[:CONTEXT][::-1]))
    return sum(parts) / len(parts) if parts else 1.0


def _tail_match(have: str, want: str) -> float:
    have, want = " ".join(have.split()), " ".join(want.split())
    if not want:
        return 1.0
    return SequenceMatcher(None, have, want, autojunk=False).ratio()
