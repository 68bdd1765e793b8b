"""Passage selectors against a clause's plain text (pure)."""

from hypothesis import given
from hypothesis import strategies as st

from feedback.anchoring import passage_locate

TEXT = "The assistant should help.\nThe assistant should refuse when asked to harm.\nDone."


def test_exact_quote_with_position():
    start = TEXT.index("should refuse")
    found = passage_locate(TEXT, exact="should refuse", start=start)
    assert (found.start, found.end, found.exact) == (start, start + 13, "should refuse")
    assert found.prefix.endswith("The assistant ")


def test_repeated_quote_is_chosen_by_context():
    second = TEXT.index("The assistant", 5)
    found = passage_locate(TEXT, exact="The assistant", prefix="help.\n", suffix=" should refuse")
    assert found.start == second
    found = passage_locate(TEXT, exact="The assistant", start=second + 3)
    assert found.start == second  # nearest to the hint when context says nothing


def test_quote_across_paragraphs_and_browser_whitespace():
    found = passage_locate(TEXT, exact="should help.  \n  The assistant")
    assert found is not None
    assert TEXT[found.start : found.end] == "should help.\nThe assistant"


def test_absent_or_empty_quote():
    assert passage_locate(TEXT, exact="should obey") is None
    assert passage_locate(TEXT, exact="   ") is None


words = st.text(alphabet="abcdefgh ", min_size=1, max_size=12).map(lambda s: " ".join(s.split()))


@given(
    before=st.lists(words, max_size=8),
    quote=words.filter(bool),
    after=st.lists(words, max_size=8),
)
def test_an_untouched_quote_is_always_found(before, quote, after):
    left = " ".join(w for w in before if w)
    right = " ".join(w for w in after if w)
    text = " ".join(part for part in (left, quote, right) if part)
    start = len(left) + 1 if left else 0
    found = passage_locate(text, exact=quote, start=start)
    assert found is not None
    assert text[found.start : found.end] == quote
    assert found.start == start
