"""Property tests of re-anchoring (pure, no database): random edits around a quoted passage.
An untouched quote is always found exactly; a deleted one is never reported as anchored."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from feedback.anchoring import CONTEXT
from feedback.reanchoring import ANCHORED, MOVED, ORPHANED, TEXT_CHANGED, reanchor

WORDS = [
    "the", "model", "should", "never", "reveal", "system", "prompt", "users", "developer",
    "follow", "chain", "command", "instructions", "may", "override", "defaults", "safety",
    "assistant", "answer", "honestly", "and", "of", "to", "in", "refuse", "harmful",
]  # fmt: skip
word = st.sampled_from(WORDS)
sentence = st.lists(word, min_size=3, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ".")
paragraph = st.lists(sentence, min_size=1, max_size=6).map(" ".join)


def _selectors(text: str, start: int, end: int) -> dict:
    return {
        "exact": text[start:end],
        "prefix": text[max(0, start - CONTEXT) : start],
        "suffix": text[end : end + CONTEXT],
        "start": start,
        "end": end,
    }


@st.composite
def quoted(draw):
    """(before, quote, after): a text cut around a quoted passage of whole words."""
    before = draw(paragraph)
    quote = draw(st.lists(word, min_size=2, max_size=8).map(" ".join))
    after = draw(paragraph)
    return before + " ", quote, " " + after


@st.composite
def edited(draw, text: str) -> str:
    """`text` with a few random insertions, deletions and replacements of words."""
    words = text.split(" ")
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, max(0, len(words) - 1)))
        if op == "insert":
            words.insert(at, draw(word))
        elif op == "delete" and len(words) > 1:
            del words[at]
        elif words:
            words[at] = draw(word)
    return " ".join(words)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), parts=quoted())
def test_an_untouched_quote_is_always_found_exactly(data, parts):
    before, quote, after = parts
    old = before + quote + after
    selectors = _selectors(old, len(before), len(before) + len(quote))
    new_before = data.draw(edited(before.rstrip(" "))) + " "
    new_after = " " + data.draw(edited(after.lstrip(" ")))
    new = new_before + quote + new_after

    result = reanchor(**selectors, primary=(7, new))

    assert result.outcome == ANCHORED
    assert result.confidence == 100
    assert result.text_id == 7
    assert result.exact == quote
    assert new[result.start : result.end] == quote
    if new.count(quote) == 1:
        assert result.start == len(new_before)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), parts=quoted())
def test_a_deleted_quote_is_never_reported_as_anchored(data, parts):
    before, quote, after = parts
    old = before + quote + after
    selectors = _selectors(old, len(before), len(before) + len(quote))
    new = data.draw(edited(before.rstrip(" "))) + " " + data.draw(edited(after.lstrip(" ")))
    assume(" ".join(quote.split()) not in " ".join(new.split()))

    result = reanchor(**selectors, primary=(7, new))

    assert result.outcome != ANCHORED
    assert result.outcome in (TEXT_CHANGED, ORPHANED)
    if result.outcome == TEXT_CHANGED:
        assert result.confidence < 100
        assert new[result.start : result.end] == result.exact


@settings(max_examples=200, deadline=None)
@given(parts=quoted(), other=paragraph)
def test_a_quote_that_went_to_a_split_sibling_is_moved(parts, other):
    before, quote, after = parts
    old = before + quote + after
    selectors = _selectors(old, len(before), len(before) + len(quote))
    primary = before.strip()
    assume(" ".join(quote.split()) not in primary)
    sibling = other + " " + quote + after

    result = reanchor(**selectors, primary=(1, primary), others=[(2, sibling)])

    assert result.outcome == MOVED
    assert result.text_id == 2
    assert sibling[result.start : result.end] == quote


def test_a_lightly_edited_quote_is_found_with_changed_text_and_good_confidence():
    old = (
        "The assistant should follow the chain of command. It must never reveal the system "
        "prompt unless the developer allows it. Users may ask about anything."
    )
    quote = "never reveal the system prompt unless the developer allows it"
    start = old.index(quote)
    new = old.replace("never reveal", "not disclose")

    result = reanchor(**_selectors(old, start, start + len(quote)), primary=(3, new))

    assert result.outcome == TEXT_CHANGED
    assert 60 <= result.confidence < 100
    assert result.exact == "not disclose the system prompt unless the developer allows it"


def test_no_successor_is_orphaned_and_passage_less_items_follow_their_clause():
    assert reanchor(exact="anything", primary=None).outcome == ORPHANED
    assert reanchor(exact="anything", primary=None).text_id is None
    same = reanchor(exact="", primary=(5, "text"))
    assert (same.outcome, same.confidence, same.text_id) == (ANCHORED, 100, 5)
    changed = reanchor(exact="", primary=(5, "text"), text_changed=True, similarity=42)
    assert (changed.outcome, changed.confidence) == (TEXT_CHANGED, 42)
    assert reanchor(exact="", primary=None).outcome == ORPHANED


def test_repeats_are_told_apart_by_context():
    old = "Alpha says yes. Beta says yes. Gamma says yes."
    start = old.index("yes", old.index("Beta"))
    selectors = _selectors(old, start, start + 3)
    new = "Intro. " + old

    result = reanchor(**selectors, primary=(1, new))

    assert result.outcome == ANCHORED
    assert result.start == new.index("yes", new.index("Beta"))
