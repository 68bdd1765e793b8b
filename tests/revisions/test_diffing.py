"""revisions.diffing: word-level diffs and their renderings (pure; no database)."""

import itertools
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from revisions.diffing import (
    DELETE,
    EQUAL,
    INSERT,
    diff_stats,
    new_text,
    old_text,
    render_inline_diff,
    render_side_by_side,
    side_by_side_columns,
    tokenize,
    word_diff,
)

WORDS = st.sampled_from(
    ["the", "model", "must", "not", "should", "user", "é", "<b>", "&", ",", ".", "\n", "  ", " "]
)
TEXTS = st.lists(WORDS, max_size=60).map(" ".join) | st.text(max_size=80)


@given(TEXTS, TEXTS)
@settings(max_examples=300, deadline=None)
def test_the_operations_rebuild_both_texts(a, b):
    ops = word_diff(a, b)
    assert old_text(ops) == a
    assert new_text(ops) == b
    assert all(op in (EQUAL, INSERT, DELETE) and text for op, text in ops)
    # merged: never two operations of one kind in a row; a deletion comes before an insertion
    for (op1, _), (op2, _) in itertools.pairwise(ops):
        assert op1 != op2
        assert (op1, op2) != (INSERT, DELETE)
    if a == b:
        assert all(op == EQUAL for op, _ in ops)


@given(TEXTS)
def test_tokens_join_back(text):
    assert "".join(tokenize(text)) == text


def test_a_changed_word_is_the_only_change():
    ops = word_diff("The model must refuse politely.", "The model should refuse politely.")
    assert ops == [
        (EQUAL, "The model "),
        (DELETE, "must "),
        (INSERT, "should "),
        (EQUAL, "refuse politely."),
    ]
    assert diff_stats(ops) == {"removed": 1, "added": 1}


def test_a_lone_common_word_between_changes_is_folded_into_one_replacement():
    ops = word_diff("alpha beta of gamma delta", "one two of three four")
    assert ops == [(DELETE, "alpha beta of gamma delta"), (INSERT, "one two of three four")]


def test_empty_sides():
    assert word_diff("", "") == []
    assert word_diff("", "new words") == [(INSERT, "new words")]
    assert word_diff("old words", "") == [(DELETE, "old words")]


def test_the_worst_case_is_bounded():
    # Two long texts with nothing in common but very frequent tokens: quadratic for a naive
    # matcher; the coarse pass keeps it well under a second.
    a = " ".join(["a b"] * 20000)
    b = " ".join(["b c"] * 20000)
    started = time.perf_counter()
    ops = word_diff(a, b)
    assert time.perf_counter() - started < 1.0
    assert old_text(ops) == a and new_text(ops) == b


def test_inline_rendering_escapes_and_announces():
    html = render_inline_diff(word_diff("say <script>alert(1)</script> now", "say hello now"))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<del class="diff-del"><span class="visually-hidden">[removed: </span>' in html
    assert '<ins class="diff-ins"><span class="visually-hidden">[added: </span>hello ' in html
    assert html.startswith('<span class="diff diff-inline">say ')


def test_inline_rendering_keeps_line_breaks():
    html = render_inline_diff(word_diff("one\ntwo", "one\nthree"))
    assert "one<br>" in html


def test_side_by_side_has_two_headed_columns():
    ops = word_diff("keep <i>old</i>", "keep new")
    old_html, new_html = side_by_side_columns(ops)
    assert "<del" in old_html and "<ins" not in old_html
    assert "<ins" in new_html and "<del" not in new_html
    table = render_side_by_side(ops, caption="Changes to <x>")
    assert '<th scope="col">Before</th>' in table and '<th scope="col">After</th>' in table
    assert "&lt;x&gt;" in table and "&lt;i&gt;old&lt;/i&gt;" in table
    assert "<i>" not in table
