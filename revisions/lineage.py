"""Lineage between two versions of a spec, as plain data: which clause of the new version came
from which clause of the old one, and what happened on the way. Pure; no database.

Order of work (docs/lineage.md explains the thresholds):

1. editor overrides pin both of their sides;
2. clauses that kept their id are paired (unless their texts have next to nothing in common
   and the old text turns up under another id: swapped or reused ids);
3. the rest are paired by text similarity (word 3-gram shingles, Dice coefficient, helped by
   the heading's words), best pair first, above a threshold;
4. splits (one old text spread over several new clauses, also an id-kept clause that lost much
   of its text to new ids) and merges (old texts absorbed into one new clause) are found from
   how much of each text's shingles the other side contains;
5. what is left is added or removed.

Every link is then classified (see `LineageKind`) and flagged: `text_changed` (heading or body,
not a mere authority-word rename at the same rank such as platform -> root), `moved` (a new
parent, or out of order among its siblings that stayed), `authority_changed` (rank differs)."""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Kinds, as in revisions.models.LineageKind (kept as strings so this module needs no Django).
UNCHANGED = "unchanged"
EDITED = "edited"
RENAMED = "renamed"
MOVED = "moved"
SPLIT = "split"
MERGED = "merged"
ADDED = "added"
REMOVED = "removed"

SHINGLE = 3  # words per shingle
# Markers that travel with their content when it moves to another clause: a footnote id marks
# a sentence, an example title a worked example. Each counts as this many shingles.
FOOTNOTE_WEIGHT = 10
EXAMPLE_WEIGHT = 20
# Pairing leftover clauses by similarity (Dice over shingles, 0-1):
MATCH_DICE = 0.5  # enough on its own
MATCH_DICE_WITH_HEADING = 0.25  # enough when the headings share at least HEADING_HELPS
HEADING_HELPS = 0.5  # Jaccard of heading words
MATCH_CONTAINED = 0.7  # the smaller text found this much inside the larger (grown or cut)
MATCH_CONTAINED_MIN_DICE = 0.2
TINY = 8  # texts with fewer shingles are judged by their heading alone
TINY_HEADING = 0.75
# A kept id whose texts share less than this (Dice) is given up if the old text is found
# elsewhere (ids swapped or reused); it is restored when nothing better turns up.
ID_REUSE_DICE = 0.2
# Split and merge: a "piece" of an old text is a new text that took at least PIECE_SHARE of
# the old text's shingles (and at least PIECE_MIN of them), or took one of its markers.
PIECE_SHARE = 0.15
PIECE_MIN = 12
# An id-kept clause that kept less than this share of its shingles, while new ids took pieces
# of it, was split.
KEPT_SHARE = 0.5
# An unpaired old text of which this share is found in one new text was merged into it.
MERGE_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class TextSnapshot:
    """What lineage needs of a clause text. `markers` are optional extra anchors: the footnote
    ids its body cites and its examples' titles (`example:` + title)."""

    anchor: str
    heading: str
    level: int
    number: str
    parent_anchor: str | None
    position: int
    authority: str
    authority_rank: int | None
    content_hash: str
    plain_text: str
    markers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Link:
    old_anchor: str | None
    new_anchor: str | None
    kind: str
    similarity: int  # 0-100
    text_changed: bool
    moved: bool
    authority_changed: bool
    by_editor: bool = False


_WORD_RE = re.compile(r"\w+")
EXAMPLE_MARKER = "example:"


def _features(text: TextSnapshot) -> tuple[frozenset, frozenset]:
    return _features_of(text.plain_text, text.heading, text.markers)


@lru_cache(maxsize=2048)
def _features_of(plain_text: str, heading: str, markers: tuple[str, ...]):
    """(shingles, markers) of a text; cached, since compare asks for the same texts again.
    Heading words count as shingles of their own, so texts with an empty body still compare."""
    words = _WORD_RE.findall(plain_text.lower())
    if len(words) >= SHINGLE:
        shingles = set(zip(words, words[1:], words[2:], strict=False))
    else:
        shingles = {(w,) for w in words}
    shingles.update(("\0h", w) for w in _WORD_RE.findall(heading.lower()))
    markers = frozenset(markers)
    for marker in markers:
        weight = EXAMPLE_WEIGHT if marker.startswith(EXAMPLE_MARKER) else FOOTNOTE_WEIGHT
        shingles.update(("\0m", marker, k) for k in range(weight))
    return frozenset(shingles), markers


class _Side:
    """Precomputed features of one version's texts."""

    def __init__(self, texts: Sequence[TextSnapshot]):
        self.texts = list(texts)
        self.by_anchor = {t.anchor: i for i, t in enumerate(self.texts)}
        features = [_features(t) for t in self.texts]
        self.shingles = [f[0] for f in features]
        self.markers = [f[1] for f in features]
        self.heading_words = [frozenset(_WORD_RE.findall(t.heading.lower())) for t in self.texts]


def _jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class _Overlap:
    """Shared shingles between old and new texts, counted (by set intersection, in C) only for
    the pairs the algorithm asks about: those with a side left unpaired by the ids."""

    def __init__(self, o: _Side, n: _Side):
        self.o, self.n = o, n
        self.counts: dict[tuple[int, int], int] = {}

    def shared(self, i: int, j: int) -> int:
        key = (i, j)
        value = self.counts.get(key)
        if value is None:
            value = self.counts[key] = len(self.o.shingles[i] & self.n.shingles[j])
        return value

    def dice(self, i: int, j: int) -> float:
        total = len(self.o.shingles[i]) + len(self.n.shingles[j])
        return 2 * self.shared(i, j) / total if total else 1.0


def compute_lineage(
    old: Sequence[TextSnapshot],
    new: Sequence[TextSnapshot],
    overrides: Sequence[tuple[str, str]] = (),
) -> list[Link]:
    """Links between `old` (the parent's texts) and `new`. `overrides` are an editor's
    (old_anchor, new_anchor) pairs; an empty old anchor says "really added", an empty new
    anchor "really removed". Overrides naming an anchor that does not exist are ignored.
    Every old and every new text appears in at least one link; output is ordered by new
    position, removals last (by old position)."""
    o, n = _Side(old), _Side(new)

    edges: dict[tuple[int, int], bool] = {}  # (old, new) -> set by an editor
    pinned_old: set[int] = set()
    pinned_new: set[int] = set()
    editor_added: set[int] = set()
    editor_removed: set[int] = set()

    # 1. overrides pin both of their sides
    for old_anchor, new_anchor in overrides:
        i = o.by_anchor.get(old_anchor) if old_anchor else None
        j = n.by_anchor.get(new_anchor) if new_anchor else None
        if (old_anchor and i is None) or (new_anchor and j is None):
            continue
        if i is not None and j is not None:
            edges[i, j] = True
            pinned_old.add(i)
            pinned_new.add(j)
        elif i is not None:
            editor_removed.add(i)
            pinned_old.add(i)
        elif j is not None:
            editor_added.add(j)
            pinned_new.add(j)

    # 2. same id
    for j, text in enumerate(n.texts):
        i = o.by_anchor.get(text.anchor)
        if i is not None and i not in pinned_old and j not in pinned_new:
            edges[i, j] = False
    ov = _Overlap(o, n)
    doubtful = [
        (i, j)
        for (i, j), by_editor in edges.items()
        if not by_editor
        and min(len(o.shingles[i]), len(n.shingles[j])) >= TINY
        and ov.dice(i, j) < ID_REUSE_DICE
    ]
    for edge in doubtful:
        del edges[edge]
    paired_old = {i for i, _ in edges} | pinned_old
    paired_new = {j for _, j in edges} | pinned_new
    free_old = [i for i in range(len(o.texts)) if i not in paired_old]
    free_new = [j for j in range(len(n.texts)) if j not in paired_new]

    # 3. similarity among the leftovers, best pair first
    candidates: list[tuple[float, int, int]] = []
    for i in free_old:
        for j in free_new:
            score = _pair_score(o, n, i, j, ov.shared(i, j), ov.dice(i, j))
            if score is not None:
                candidates.append((score, i, j))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    for _score, i, j in candidates:
        if i in paired_old or j in paired_new:
            continue
        edges[i, j] = False
        paired_old.add(i)
        paired_new.add(j)
    for i, j in doubtful:
        if i not in paired_old and j not in paired_new:
            edges[i, j] = False
            paired_old.add(i)
            paired_new.add(j)

    # 4. splits and merges, never touching what an editor pinned. Pieces are judged against
    # the pairing of step 3, so the result does not depend on the order of the loop.
    def pieces(i: int, among: Sequence[int]) -> list[int]:
        size = len(o.shingles[i])
        return [
            j
            for j in among
            if j not in pinned_new
            and (
                ov.shared(i, j) >= max(PIECE_MIN, PIECE_SHARE * size) or o.markers[i] & n.markers[j]
            )
        ]

    unpaired_new = [j for j in range(len(n.texts)) if j not in paired_new]
    split_old: set[int] = set()
    new_edges: list[tuple[int, int]] = []
    for i in range(len(o.texts)):
        if i in pinned_old or not o.shingles[i]:
            continue
        partners = [j for (a, j) in edges if a == i]
        if partners:
            # An id-kept (or matched) clause that lost most of its text to new clauses.
            kept = max(ov.shared(i, j) for j in partners) / len(o.shingles[i])
            taken = pieces(i, unpaired_new)
            if taken and kept < KEPT_SHARE:
                new_edges += [(i, j) for j in taken]
                split_old.add(i)
        else:
            taken = pieces(i, range(len(n.texts)))
            if len(taken) >= 2:
                new_edges += [(i, j) for j in taken]
                split_old.add(i)
    for edge in new_edges:
        edges[edge] = False
        paired_old.add(edge[0])
        paired_new.add(edge[1])
    # An unpaired old text largely found inside one new text was merged into it.
    for i in range(len(o.texts)):
        if i in paired_old or not o.shingles[i]:
            continue
        best = max(
            (j for j in range(len(n.texts)) if j not in pinned_new),
            key=lambda j: (ov.shared(i, j), -j),
            default=None,
        )
        if best is None:
            continue
        common = ov.shared(i, best)
        if common >= PIECE_MIN and (
            common >= MERGE_SHARE * len(o.shingles[i])
            or common >= MERGE_SHARE * len(n.shingles[best])
        ):
            edges[i, best] = False
            paired_old.add(i)
            paired_new.add(best)

    preds: dict[int, list[int]] = defaultdict(list)
    succs: dict[int, list[int]] = defaultdict(list)
    for i, j in sorted(edges):
        preds[j].append(i)
        succs[i].append(j)

    # 5. classify
    primary_new = _primary_successors(o, n, edges, ov.dice)
    moved = _moved(o, n, edges, primary_new)
    links: list[Link] = []
    for (i, j), by_editor in edges.items():
        a, b = o.texts[i], n.texts[j]
        whole_preds = [k for k in preds[j] if k not in split_old and len(succs[k]) == 1]
        text_changed = _text_changed(a, b)
        if i in split_old or len(succs[i]) > 1:
            kind = SPLIT
        elif len(whole_preds) > 1:
            kind = MERGED
        elif a.anchor != b.anchor:
            kind = RENAMED
        elif (i, j) in moved:
            kind = MOVED
        elif text_changed or a.authority_rank != b.authority_rank:
            kind = EDITED
        else:
            kind = UNCHANGED
        links.append(
            Link(
                old_anchor=a.anchor,
                new_anchor=b.anchor,
                kind=kind,
                similarity=100 if not text_changed else min(99, round(100 * ov.dice(i, j))),
                text_changed=text_changed,
                moved=(i, j) in moved,
                authority_changed=a.authority_rank != b.authority_rank,
                by_editor=by_editor,
            )
        )
    for j, text in enumerate(n.texts):
        if not preds[j]:
            links.append(Link(None, text.anchor, ADDED, 0, True, False, False, j in editor_added))
    for i, text in enumerate(o.texts):
        if not succs[i]:
            links.append(
                Link(text.anchor, None, REMOVED, 0, True, False, False, i in editor_removed)
            )
    new_pos = {t.anchor: t.position for t in n.texts}
    old_pos = {t.anchor: t.position for t in o.texts}
    links.sort(
        key=lambda link: (
            link.new_anchor is None,
            new_pos.get(link.new_anchor or "", 0),
            old_pos.get(link.old_anchor or "", -1),
        )
    )
    return links


def _pair_score(o: _Side, n: _Side, i: int, j: int, common: int, d: float) -> float | None:
    """How alike two unpaired texts are (higher is better), or None below every threshold."""
    heading = _jaccard(o.heading_words[i], n.heading_words[j])
    small, large = sorted((len(o.shingles[i]), len(n.shingles[j])))
    if small < TINY:
        # Too little body to judge (chapter headings): the heading decides.
        if heading >= TINY_HEADING and (large < TINY or d >= MATCH_DICE_WITH_HEADING):
            return heading
        return None
    contained = common / small
    if (
        d >= MATCH_DICE
        or (d >= MATCH_DICE_WITH_HEADING and heading >= HEADING_HELPS)
        or (contained >= MATCH_CONTAINED and d >= MATCH_CONTAINED_MIN_DICE)
    ):
        return max(d, contained * 0.9) + 0.2 * heading
    return None


def _text_changed(a: TextSnapshot, b: TextSnapshot) -> bool:
    """Heading or body changed. A new authority word alone is not a text change: the content
    hash covers the word, so equal heading and plain text with a different word count as
    unchanged text (authority_changed says whether the rank moved)."""
    if a.content_hash == b.content_hash:
        return False
    return not (
        a.heading == b.heading and a.plain_text == b.plain_text and a.authority != b.authority
    )


def carry_identity(pairs: Iterable[tuple[str, str, int]]) -> dict[str, str]:
    """{new anchor: old anchor whose clause identity it carries}, from (old anchor, new anchor,
    similarity) pairs of a lineage. Each old and each new anchor carries at most one identity:
    a kept id wins, then the most similar pair. So in a split the most similar successor keeps
    the identity (the one that kept the id, if any), and a merge's new text takes its most
    similar predecessor's (the one with its own id, if any)."""
    ranked = sorted(set(pairs), key=lambda p: (p[0] != p[1], -p[2], p[1], p[0]))
    carried: dict[str, str] = {}
    taken: set[str] = set()
    for old_anchor, new_anchor, _similarity in ranked:
        if new_anchor in carried or old_anchor in taken:
            continue
        carried[new_anchor] = old_anchor
        taken.add(old_anchor)
    return carried


def _primary_successors(o: _Side, n: _Side, edges, dice) -> dict[int, int]:
    """{old index: the new index that carries its identity} (see `carry_identity`)."""
    pairs = [(o.texts[i].anchor, n.texts[j].anchor, round(100 * dice(i, j))) for i, j in edges]
    return {
        o.by_anchor[old_anchor]: n.by_anchor[new_anchor]
        for new_anchor, old_anchor in carry_identity(pairs).items()
    }


def _moved(o, n, edges, primary_new) -> set[tuple[int, int]]:
    """Links whose new text sits under a parent that is not its old parent's successor, or out
    of order among the siblings that stayed under the same parent (the longest run that kept
    its order stays; only the others moved, so an insertion moves nothing)."""
    moved: set[tuple[int, int]] = set()
    stayed: dict[str | None, list[tuple[int, int, int]]] = defaultdict(list)
    for i, j in edges:
        a, b = o.texts[i], n.texts[j]
        if primary_new.get(i) != j:
            continue  # secondary pieces of a split or merge: not judged for moves
        old_parent = o.by_anchor.get(a.parent_anchor) if a.parent_anchor else None
        if old_parent is None:
            expected = None
        else:
            carrier = primary_new.get(old_parent)
            expected = n.texts[carrier].anchor if carrier is not None else "\0gone"
        if expected != b.parent_anchor:
            moved.add((i, j))
        else:
            stayed[b.parent_anchor].append((b.position, a.position, i, j))
    for siblings in stayed.values():
        siblings.sort()
        keep = _longest_increasing([old_pos for _, old_pos, _, _ in siblings])
        for index, (_, _, i, j) in enumerate(siblings):
            if index not in keep:
                moved.add((i, j))
    return moved


def _longest_increasing(values: list[int]) -> set[int]:
    """Indexes of one longest strictly increasing subsequence (the earliest-ending one)."""
    if not values:
        return set()
    tails: list[int] = []  # value at the end of the best run of each length
    tail_index: list[int] = []
    previous = [-1] * len(values)
    for k, value in enumerate(values):
        pos = bisect.bisect_left(tails, value)
        if pos == len(tails):
            tails.append(value)
            tail_index.append(k)
        else:
            tails[pos] = value
            tail_index[pos] = k
        previous[k] = tail_index[pos - 1] if pos else -1
    result: set[int] = set()
    k = tail_index[-1]
    while k != -1:
        result.add(k)
        k = previous[k]
    return result
