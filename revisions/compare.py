"""Compare any two versions of a spec: every clause with its lineage kind, word-level changes of
heading and body, authority changes, and examples added, removed, relabelled or changed.

`compare_versions` builds the plain, JSON-able answer. `comparison_json` is what pages and the
API use: for two published or superseded versions (whose text never changes) it keeps the
serialised JSON in a `Comparison` row and serves later requests from that text without
recomputing or re-encoding; drafts are always computed afresh.

Bodies are compared as their plain text (what a reader reads, and what feedback passages are
quoted against), not as Markdown: link targets, emphasis marks and escaping would otherwise
crowd out the words that changed. When only the markup changed, the entry says so
(`markup_only`)."""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from . import diffing
from .models import Comparison, Example, LineageKind, LineageLink, LineageOverride, Version

# Bump when the answer's shape or the algorithm (diffing, lineage) changes: old rows then stop
# matching their key and are recomputed (and may be deleted at leisure).
ALGORITHM_REVISION = 1

KINDS: tuple[str, ...] = tuple(LineageKind.values)


@dataclass(frozen=True, slots=True)
class _Link:
    old_anchor: str | None
    new_anchor: str | None
    kind: str
    similarity: int
    text_changed: bool
    moved: bool
    authority_changed: bool
    by_editor: bool


def comparison_key(from_version: Version, to_version: Version) -> str:
    return f"{from_version.pk}:{to_version.pk}:v{ALGORITHM_REVISION}"


def is_cacheable(from_version: Version, to_version: Version) -> bool:
    """Published and superseded text never changes; a draft's does."""
    return from_version.is_published_text and to_version.is_published_text


def comparison_json(from_version: Version, to_version: Version) -> str:
    """The comparison as JSON text: from its `Comparison` row when there is one (one query),
    otherwise computed, and kept when both versions are published text."""
    if not is_cacheable(from_version, to_version):
        return _dumps(compare_versions(from_version, to_version))
    key = comparison_key(from_version, to_version)
    body = Comparison.objects.filter(key=key).values_list("body", flat=True).first()
    if body is not None:
        return body
    body = _dumps(compare_versions(from_version, to_version))
    try:
        with transaction.atomic():
            Comparison.objects.create(
                key=key, from_version=from_version, to_version=to_version, body=body
            )
    except IntegrityError:
        # Another request computed it at the same time; both answers are the same.
        pass
    return body


def comparison_stored(*, spec_slug: str, from_label: str, to_label: str) -> str | None:
    """The stored JSON of a comparison named by labels, in one query, or None. Only published
    and superseded versions are ever stored, and those are visible to everyone, so a stored
    answer needs no visibility check of its own."""
    return (
        Comparison.objects.filter(
            key__endswith=f":v{ALGORITHM_REVISION}",
            from_version__spec__slug=spec_slug,
            from_version__label=from_label,
            to_version__spec__slug=spec_slug,
            to_version__label=to_label,
        )
        .values_list("body", flat=True)
        .first()
    )


def comparison_data(from_version: Version, to_version: Version) -> dict[str, Any]:
    """The comparison as data (for HTML pages), through the same cache as the API."""
    return json.loads(comparison_json(from_version, to_version))


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# --- Lineage ---------------------------------------------------------------------------------


def _lineage(from_version: Version, to_version: Version, old_snaps, new_snaps) -> tuple[list, str]:
    """Stored links when `to_version` was built on `from_version` and its lineage is stored
    (published ones; an editor's corrections are in them), otherwise computed now, with the
    editor's corrections when `to_version` is a draft of `from_version`."""
    adjacent = to_version.parent_id == from_version.pk
    if adjacent and to_version.is_published_text:
        rows = list(
            LineageLink.objects.filter(version=to_version)
            .order_by("id")
            .values_list(
                "old_text__anchor", "new_text__anchor", "kind", "similarity", "text_changed",
                "moved", "authority_changed", "by_editor",
            )
        )  # fmt: skip
        if rows:
            return [_Link(*row) for row in rows], "stored"
    from .lineage import compute_lineage

    overrides: Sequence[tuple[str, str]] = ()
    if adjacent:
        overrides = list(
            LineageOverride.objects.filter(version=to_version)
            .order_by("id")
            .values_list("old_anchor", "new_anchor")
        )
    return list(compute_lineage(old_snaps, new_snaps, overrides)), "computed"


def _snapshots(version: Version) -> list:
    from .lineage_store import snapshots

    return list(snapshots(version))


# --- Examples --------------------------------------------------------------------------------


def _examples(version: Version) -> dict[str, tuple[str, str]]:
    """{title: (clause id, content hash)} in one query."""
    rows = (
        Example.objects.filter(version=version)
        .order_by("clause_text__position", "position")
        .values_list("title", "clause_text__anchor", "content_hash")
    )
    return {title: (anchor, content_hash) for title, anchor, content_hash in rows}


def _example_labels(version: Version, titles: set[str]) -> dict[str, tuple]:
    """{title: labelled answers} for the changed examples only (their turns are large)."""
    if not titles:
        return {}
    rows = Example.objects.filter(version=version, title__in=titles).values_list("title", "turns")
    return {title: _labels(turns) for title, turns in rows}


def _labels(turns: Iterable[dict]) -> tuple[tuple[str, str | None], ...]:
    """The labelled answers, in order: (their words, whitespace folded; GOOD / OK / BAD)."""
    return tuple(
        (" ".join((t.get("content") or "").split()), t.get("label"))
        for t in turns
        if t.get("candidate") or t.get("label") is not None
    )


def _relabels(old: tuple, new: tuple) -> list[dict]:
    """Answers present in both (same words, or nearly: at least 80% of their distinct words
    shared) whose label changed. An answer added or removed is not a relabel."""
    changes = []
    unmatched_old = [i for i, (text, _) in enumerate(old)]
    pending = []
    for j, (text, label) in enumerate(new):
        match = next((i for i in unmatched_old if old[i][0] == text), None)
        if match is None:
            pending.append(j)
            continue
        unmatched_old.remove(match)
        if old[match][1] != label:
            changes.append({"answer": j + 1, "from": old[match][1], "to": label})
    for j in pending:
        text, label = new[j]
        words = set(text.split())
        best, best_ratio = None, 0.8
        for i in unmatched_old:
            other = set(old[i][0].split())
            ratio = len(words & other) / (len(words | other) or 1)
            if ratio >= best_ratio:
                best, best_ratio = i, ratio
        if best is not None:
            unmatched_old.remove(best)
            if old[best][1] != label:
                changes.append({"answer": j + 1, "from": old[best][1], "to": label})
    return sorted(changes, key=lambda c: c["answer"])


def _example_changes(
    from_version: Version, to_version: Version
) -> tuple[dict[str, dict], dict[str, int]]:
    """Per clause id (new id, or old id for removals): examples added, removed, relabelled
    (same title, a GOOD/OK/BAD label changed on an answer present in both) or otherwise
    changed. Examples are matched by title, which is unique within a version."""
    old, new = _examples(from_version), _examples(to_version)
    changed = {t for t, (_, h) in new.items() if t in old and old[t][1] != h}
    old_labels = _example_labels(from_version, changed)
    new_labels = _example_labels(to_version, changed)
    by_clause: dict[str, dict] = {}

    def slot(kind: str, anchor: str) -> list:
        entry = by_clause.setdefault(
            anchor, {"added": [], "removed": [], "relabelled": [], "changed": []}
        )
        return entry[kind]

    counts = {"added": 0, "removed": 0, "relabelled": 0, "changed": 0}
    for title, (anchor, _) in new.items():
        if title not in old:
            slot("added", anchor).append({"title": title})
            counts["added"] += 1
        elif title in changed:
            relabels = _relabels(old_labels.get(title, ()), new_labels.get(title, ()))
            if relabels:
                slot("relabelled", anchor).append({"title": title, "labels": relabels})
                counts["relabelled"] += 1
            else:
                slot("changed", anchor).append({"title": title})
                counts["changed"] += 1
    for title, (anchor, _) in old.items():
        if title not in new:
            slot("removed", anchor).append({"title": title})
            counts["removed"] += 1
    return by_clause, counts


# --- The comparison --------------------------------------------------------------------------


def _side(snap) -> dict[str, Any]:
    return {
        "id": snap.anchor,
        "number": snap.number,
        "heading": snap.heading,
        "level": snap.level,
        "parent": snap.parent_anchor,
        "authority": snap.authority or "",
        "authority_rank": snap.authority_rank,
    }


def _ops(ops: diffing.DiffOps) -> list[list[str]]:
    return [[op, text] for op, text in ops]


def _version_ref(version: Version) -> dict[str, str]:
    return {"label": version.label, "state": version.state}


def compare_versions(from_version: Version, to_version: Version) -> dict[str, Any]:
    """Everything that changed from `from_version` to `to_version` (of one spec), as plain data.

    `clauses` lists one entry per lineage link in reading order of the newer version (removed
    clauses after the clause that precedes them): kind, old and new sides, similarity, flags,
    word-level `heading_diff` and `body_diff` (lists of [op, text], only when that part
    changed) and the clause's example changes. `summary` counts entries per kind."""
    old_snaps = _snapshots(from_version)
    new_snaps = _snapshots(to_version)
    links, source = _lineage(from_version, to_version, old_snaps, new_snaps)
    old_by = {s.anchor: s for s in old_snaps}
    new_by = {s.anchor: s for s in new_snaps}
    example_changes, example_counts = _example_changes(from_version, to_version)

    slots = _survivor_slots(links, old_by, new_by)
    entries = []
    seen_new: set[str] = set()
    seen_old: set[str] = set()
    for link in links:
        old = old_by.get(link.old_anchor) if link.old_anchor else None
        new = new_by.get(link.new_anchor) if link.new_anchor else None
        if old is None and new is None:
            continue
        entry: dict[str, Any] = {
            "kind": str(link.kind),
            "old": _side(old) if old else None,
            "new": _side(new) if new else None,
            "similarity": int(link.similarity),
            "text_changed": bool(link.text_changed),
            "moved": bool(link.moved),
            "authority_changed": bool(link.authority_changed),
            "by_editor": bool(link.by_editor),
            "heading_diff": None,
            "body_diff": None,
            "markup_only": False,
            "words": {"removed": 0, "added": 0},
            "examples": {"added": [], "removed": [], "relabelled": [], "changed": []},
        }
        if old is not None and new is not None:
            if old.heading != new.heading:
                entry["heading_diff"] = _ops(diffing.word_diff(old.heading, new.heading))
            if old.plain_text != new.plain_text:
                ops = diffing.word_diff(old.plain_text, new.plain_text)
                entry["body_diff"] = _ops(ops)
                entry["words"] = diffing.diff_stats(ops)
            elif old.content_hash != new.content_hash and old.heading == new.heading:
                entry["markup_only"] = (old.authority or "") == (new.authority or "")
        # Example changes belong to the first entry showing that clause.
        if new is not None and new.anchor not in seen_new:
            _merge_examples(entry, example_changes.pop(new.anchor, None))
            seen_new.add(new.anchor)
        if new is None and old is not None and old.anchor not in seen_old:
            removed = example_changes.get(old.anchor)
            if removed and removed["removed"]:
                entry["examples"]["removed"].extend(removed.pop("removed"))
                removed["removed"] = []
            seen_old.add(old.anchor)
        entries.append((_order(old, new, slots), entry))

    # Examples removed from clauses that still exist go to the entry of their successor.
    for anchor, rest in example_changes.items():
        if not any(rest.values()):
            continue
        for _, entry in entries:
            side = entry["old"] if rest["removed"] else entry["new"]
            if side and side["id"] == anchor:
                _merge_examples(entry, rest)
                break

    entries.sort(key=lambda pair: pair[0])
    clauses = [entry for _, entry in entries]
    summary = dict.fromkeys(KINDS, 0)
    for entry in clauses:
        summary[entry["kind"]] = summary.get(entry["kind"], 0) + 1
    return {
        "spec": from_version.spec.slug,
        "from": _version_ref(from_version),
        "to": _version_ref(to_version),
        "algorithm": ALGORITHM_REVISION,
        "lineage": source,
        "summary": summary,
        "authority_changes": sum(1 for e in clauses if e["authority_changed"]),
        "examples": example_counts,
        "clauses": clauses,
    }


def _merge_examples(entry: dict, changes: dict | None) -> None:
    if not changes:
        return
    for kind, items in changes.items():
        entry["examples"][kind].extend(items)


def _survivor_slots(links, old_by, new_by) -> tuple[list[int], list[int]]:
    """Old positions of the clauses that have a successor (sorted) and each one's new
    position: where a removed clause goes in the newer version's reading order."""
    pairs = {}
    for link in links:
        old = old_by.get(link.old_anchor) if link.old_anchor else None
        new = new_by.get(link.new_anchor) if link.new_anchor else None
        if old is not None and new is not None:
            pairs.setdefault(old.position, new.position)
    keys = sorted(pairs)
    return keys, [pairs[k] for k in keys]


def _order(old, new, slots: tuple[list[int], list[int]]) -> tuple[int, int, int]:
    """Reading order of the newer version; a removed clause sorts right after the new
    position of the nearest preceding old clause that survived."""
    if new is not None:
        return (new.position, 0, 0)
    keys, values = slots
    i = bisect_left(keys, old.position)
    return (values[i - 1] if i else -1, 1, old.position)
