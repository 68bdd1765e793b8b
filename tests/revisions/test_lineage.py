"""The pure lineage algorithm: small synthetic cases for every kind, and the bundled versions
parsed straight from their files (no database)."""

import hashlib
import random
import time
from pathlib import Path

import pytest

from revisions import lineage, rendering
from revisions.importing import parse_spec
from revisions.lineage import TextSnapshot, carry_identity, compute_lineage
from revisions.services import DEFAULT_AUTHORITY_VOCABULARY

DATA = Path(__file__).resolve().parents[2] / "data" / "model-spec"
RANKS = {name: rank for name, rank, _ in DEFAULT_AUTHORITY_VOCABULARY}

LOREM = [
    "the",
    "assistant",
    "should",
    "weigh",
    "every",
    "instruction",
    "against",
    "the",
    "intent",
    "of",
    "the",
    "person",
    "who",
    "wrote",
    "it",
    "and",
    "should",
    "consider",
    "what",
    "a",
    "thoughtful",
    "senior",
    "employee",
    "would",
    "do",
    "in",
    "the",
    "same",
    "position",
    "while",
    "keeping",
    "the",
    "conversation",
    "useful",
    "honest",
    "and",
    "safe",
    "for",
    "everyone",
    "involved",
    "in",
    "it",
    "today",
]


def words(seed: int, n: int = 60) -> str:
    """A deterministic paragraph of `n` words, different for each seed."""
    rng = random.Random(seed)
    vocabulary = [f"{w}{seed}" for w in LOREM] + LOREM
    return " ".join(rng.choice(vocabulary) for _ in range(n))


def snap(anchor, text, *, parent=None, position=0, heading=None, authority="", markers=()):
    heading = heading if heading is not None else anchor.replace("_", " ").title()
    rank = RANKS.get(authority) if authority else None
    digest = hashlib.sha256(f"{heading}\n{authority}\n{text}".encode()).hexdigest()
    return TextSnapshot(
        anchor=anchor,
        heading=heading,
        level=1 if parent is None else 2,
        number=str(position),
        parent_anchor=parent,
        position=position,
        authority=authority,
        authority_rank=rank,
        content_hash=digest,
        plain_text=text,
        markers=tuple(markers),
    )


def kinds(links):
    return {(link.old_anchor, link.new_anchor): link.kind for link in links}


def by_pair(links):
    return {(link.old_anchor, link.new_anchor): link for link in links}


A, B, C, D = words(1), words(2), words(3), words(4)


def test_unchanged_edited_added_removed():
    old = [snap("a", A, position=0), snap("b", B, position=1), snap("gone", C, position=2)]
    edited_b = B.replace(B.split()[10], "changed") + " and one more sentence at the end"
    new = [snap("a", A, position=0), snap("b", edited_b, position=1), snap("fresh", D, position=2)]
    links = compute_lineage(old, new)
    assert kinds(links) == {
        ("a", "a"): "unchanged",
        ("b", "b"): "edited",
        (None, "fresh"): "added",
        ("gone", None): "removed",
    }
    pairs = by_pair(links)
    assert pairs["a", "a"].similarity == 100 and not pairs["a", "a"].text_changed
    assert 50 < pairs["b", "b"].similarity < 100 and pairs["b", "b"].text_changed
    assert [link.new_anchor for link in links] == ["a", "b", "fresh", None]


def test_a_new_id_for_the_same_text_is_a_rename():
    old = [snap("old_name", A, heading="Be kind"), snap("other", B, position=1)]
    new = [snap("new_name", A, heading="Be kind"), snap("other", B, position=1)]
    link = by_pair(compute_lineage(old, new))["old_name", "new_name"]
    assert link.kind == "renamed"
    assert not link.text_changed and link.similarity == 100


def test_a_rename_with_edits_is_found_by_similarity_and_heading():
    edited = " ".join(A.split()[:45]) + " " + words(9, 20)
    old = [snap("privileged_messages", A, heading="Do not reveal privileged messages")]
    new = [snap("privileged_information", edited, heading="Do not reveal privileged information")]
    link = compute_lineage(old, new)[0]
    assert (link.kind, link.old_anchor, link.new_anchor) == (
        "renamed",
        "privileged_messages",
        "privileged_information",
    )
    assert link.text_changed and 40 <= link.similarity < 100


def test_unrelated_texts_are_not_paired():
    links = compute_lineage([snap("x", A)], [snap("y", B)])
    assert kinds(links) == {(None, "y"): "added", ("x", None): "removed"}


def test_a_new_parent_is_a_move_and_an_insertion_moves_nothing():
    old = [
        snap("one", "", position=0),
        snap("a", A, parent="one", position=1),
        snap("b", B, parent="one", position=2),
        snap("two", "", position=3),
        snap("c", C, parent="two", position=4),
    ]
    new = [
        snap("one", "", position=0),
        snap("a", A, parent="one", position=1),
        snap("inserted", D, parent="one", position=2),
        snap("b", B, parent="one", position=3),
        snap("two", "", position=4),
        snap("c", C, parent="one", position=5),
    ]
    links = by_pair(compute_lineage(old, new))
    assert links["c", "c"].kind == "moved" and links["c", "c"].moved
    assert links["a", "a"].kind == "unchanged" and not links["a", "a"].moved
    assert links["b", "b"].kind == "unchanged" and not links["b", "b"].moved


def test_only_the_clause_that_changed_order_among_its_siblings_moved():
    texts = {"a": A, "b": B, "c": C, "d": D}
    old = [snap(k, texts[k], parent=None, position=i) for i, k in enumerate("abcd")]
    new = [snap(k, texts[k], parent=None, position=i) for i, k in enumerate("dabc")]
    links = by_pair(compute_lineage(old, new))
    assert [k for k in "abcd" if links[k, k].moved] == ["d"]
    assert links["d", "d"].kind == "moved"


def test_a_clause_spread_over_two_new_ids_is_split():
    first, second = words(5, 80), words(6, 80)
    old = [snap("big", first + " " + second)]
    new = [snap("part_one", first, position=0), snap("part_two", second, position=1)]
    links = compute_lineage(old, new)
    assert kinds(links) == {("big", "part_one"): "split", ("big", "part_two"): "split"}


def test_an_id_kept_clause_that_lost_most_of_its_text_to_a_new_id_is_split():
    kept, taken = words(5, 30), words(6, 120)
    old = [snap("big", kept + " " + taken)]
    new = [snap("big", kept, position=0), snap("carved_out", taken, position=1)]
    assert kinds(compute_lineage(old, new)) == {
        ("big", "big"): "split",
        ("big", "carved_out"): "split",
    }


def test_an_id_kept_clause_that_kept_most_of_its_text_is_not_split():
    kept, quoted = words(5, 120), words(6, 20)
    old = [snap("big", kept + " " + quoted)]
    new = [snap("big", kept, position=0), snap("new", quoted + " " + words(7, 100), position=1)]
    assert kinds(compute_lineage(old, new)) == {("big", "big"): "edited", (None, "new"): "added"}


def test_footnote_markers_show_where_a_sentence_went():
    # The old clause was rewritten; only its footnoted sentences and examples travelled.
    old = [snap("be_engaging", words(1, 90), markers=("p8a8", "example:chit-chat", "zpwa"))]
    new = [
        snap(
            "conversational_sense", words(2, 90), position=0, markers=("p8a8", "example:chit-chat")
        ),
        snap("be_curious", words(3, 90), position=1, markers=("zpwa",)),
        snap("unrelated", words(4, 90), position=2),
    ]
    assert kinds(compute_lineage(old, new)) == {
        ("be_engaging", "conversational_sense"): "split",
        ("be_engaging", "be_curious"): "split",
        (None, "unrelated"): "added",
    }


def test_two_old_texts_absorbed_into_one_are_merged():
    intro = words(5, 40)
    old = [snap("approachable", intro, position=0), snap("style", "", position=1)]
    new = [snap("style", intro + " " + words(6, 10), position=0)]
    assert kinds(compute_lineage(old, new)) == {
        ("approachable", "style"): "merged",
        ("style", "style"): "merged",
    }


def test_authority_word_renamed_at_the_same_rank_is_not_a_change():
    old = [snap("a", A, authority="platform"), snap("b", B, authority="platform", position=1)]
    new = [snap("a", A, authority="root"), snap("b", B, authority="system", position=1)]
    links = by_pair(compute_lineage(old, new))
    same_rank, lower_rank = links["a", "a"], links["b", "b"]
    assert same_rank.kind == "unchanged"
    assert not same_rank.text_changed and not same_rank.authority_changed
    assert lower_rank.kind == "edited"
    assert lower_rank.authority_changed and not lower_rank.text_changed


def test_overrides_pin_pairs_additions_and_removals():
    old = [snap("a", A), snap("b", B, position=1), snap("c", C, position=2)]
    new = [snap("a", A), snap("x", D, position=1), snap("c", C, position=2)]
    links = compute_lineage(old, new, overrides=[("b", "x"), ("", "c"), ("nope", "x")])
    pairs = by_pair(links)
    assert pairs["b", "x"].kind == "renamed" and pairs["b", "x"].by_editor
    assert pairs[None, "c"].kind == "added" and pairs[None, "c"].by_editor
    assert pairs["c", None].kind == "removed" and not pairs["c", None].by_editor
    assert pairs["a", "a"].kind == "unchanged" and not pairs["a", "a"].by_editor
    removed = compute_lineage(old, new, overrides=[("a", "")])
    assert by_pair(removed)["a", None].by_editor
    assert by_pair(removed)[None, "a"].kind == "added"


def test_output_does_not_depend_on_input_order():
    old = [snap(k, words(i), position=i) for i, k in enumerate("abcdef")]
    new = [snap(k, words(i + 1), position=i) for i, k in enumerate("abcdeg")]
    expected = compute_lineage(old, new)
    rng = random.Random(7)
    for _ in range(5):
        shuffled_old, shuffled_new = old[:], new[:]
        rng.shuffle(shuffled_old)
        rng.shuffle(shuffled_new)
        assert compute_lineage(shuffled_old, shuffled_new) == expected


def test_carry_identity_prefers_the_kept_id_then_similarity():
    # split: the most similar successor keeps it, unless one kept the id
    assert carry_identity([("a", "x", 40), ("a", "y", 70)]) == {"y": "a"}
    assert carry_identity([("a", "a", 10), ("a", "y", 70)]) == {"a": "a"}
    # merge: the most similar predecessor, unless one has the same id
    assert carry_identity([("p", "n", 30), ("q", "n", 60)]) == {"n": "q"}
    assert carry_identity([("n", "n", 5), ("q", "n", 60)]) == {"n": "n"}


# The bundled versions, parsed straight from their files -------------------------------------


def _parsed(label):
    parsed = parse_spec((DATA / f"{label}.md").read_bytes(), authority_vocabulary=RANKS)
    headings = {c.anchor: c.heading for c in parsed.clauses}
    return [
        TextSnapshot(
            anchor=c.anchor,
            heading=c.heading,
            level=c.level,
            number=c.number,
            parent_anchor=c.parent_anchor,
            position=c.position,
            authority=c.authority or "",
            authority_rank=RANKS.get(c.authority or ""),
            content_hash=c.content_hash,
            plain_text=rendering.plain_text(
                rendering.render_segments(c.segments, headings=headings)
            ),
            markers=tuple(c.footnotes) + tuple("example:" + e.title for e in c.examples),
        )
        for c in parsed.clauses
    ]


@pytest.fixture(scope="module")
def bundled():
    return {label: _parsed(label) for label in ("2025-02-12", "2025-04-11", "2025-09-12")}


def test_every_clause_of_both_sides_is_accounted_for(bundled):
    old, new = bundled["2025-04-11"], bundled["2025-09-12"]
    links = compute_lineage(old, new)
    assert {link.old_anchor for link in links} - {None} == {t.anchor for t in old}
    assert {link.new_anchor for link in links} - {None} == {t.anchor for t in new}


def test_lineage_of_the_largest_versions_runs_well_under_100_ms(bundled):
    old, new = bundled["2025-02-12"], bundled["2025-09-12"]
    # CPU time, best of five: the wall clock of a machine shared by parallel runs says little.
    best = float("inf")
    for _ in range(5):
        lineage._features_of.cache_clear()  # cold: nothing tokenised yet
        started = time.process_time()
        compute_lineage(old, new)
        best = min(best, time.process_time() - started)
    assert best < 0.06, f"compute_lineage took {best * 1000:.0f} ms"
