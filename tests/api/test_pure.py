"""The pure parts: building the clause tree and naming what changed. No database."""

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revisions.api.history import Change, change_between, history_entries
from revisions.api.tree import build_tree


@dataclass
class Linked:
    pk: int
    parent_id: int | None


@dataclass
class Version:
    label: str
    state: str = "published"


@dataclass
class Text:
    version: Version
    anchor: str
    content_hash: str
    heading: str = "H"
    number: str = "1"
    authority: str = ""
    authority_rank: int | None = None


def test_tree_nests_in_reading_order():
    texts = [Linked(1, None), Linked(2, 1), Linked(3, 2), Linked(4, 1), Linked(5, None)]
    roots = build_tree(texts)
    assert [n.text.pk for n in roots] == [1, 5]
    assert [n.text.pk for n in roots[0].children] == [2, 4]
    assert [n.text.pk for n in roots[0].children[0].children] == [3]
    assert roots[1].children == []


def test_a_text_whose_parent_is_missing_is_kept_as_a_root():
    assert [n.text.pk for n in build_tree([Linked(2, 99), Linked(3, 2)])] == [2]


@st.composite
def outlines(draw):
    """Random outlines in reading order: each text's parent comes before it."""
    size = draw(st.integers(min_value=0, max_value=40))
    texts = []
    for pk in range(1, size + 1):
        parent = draw(st.one_of(st.none(), st.integers(1, pk - 1))) if pk > 1 else None
        texts.append(Linked(pk, parent))
    return texts


@given(outlines())
def test_tree_keeps_every_text_once_under_its_parent(texts):
    seen = []

    def walk(nodes, parent_pk):
        for node in nodes:
            assert node.text.parent_id == parent_pk
            seen.append(node.text.pk)
            walk(node.children, node.text.pk)

    walk(build_tree(texts), None)
    assert sorted(seen) == [t.pk for t in texts]


@pytest.mark.parametrize(
    ("previous", "current", "change"),
    [
        (None, ("a", "h1"), Change.ADDED),
        (("a", "h1"), ("a", "h1"), Change.UNCHANGED),
        (("a", "h1"), ("a", "h2"), Change.EDITED),
        (("a", "h1"), ("b", "h1"), Change.RENAMED),
        (("a", "h1"), ("b", "h2"), Change.RENAMED),
    ],
)
def test_change_between(previous, current, change):
    v = Version("v")
    before = Text(v, *previous) if previous else None
    assert change_between(before, Text(v, *current)) == change


def test_history_entries_compare_each_with_the_one_before():
    texts = [
        Text(Version("1", "superseded"), "a", "h1", authority="platform", authority_rank=0),
        Text(Version("2", "superseded"), "a", "h1"),
        Text(Version("3"), "b", "h1"),
        Text(Version("4", "draft"), "b", "h2"),
    ]
    entries = history_entries(texts)
    assert [(e.label, e.state, e.anchor, e.change, e.same_text) for e in entries] == [
        ("1", "superseded", "a", "added", False),
        ("2", "superseded", "a", "unchanged", True),
        ("3", "published", "b", "renamed", True),
        ("4", "draft", "b", "edited", False),
    ]
    assert (entries[0].authority, entries[0].authority_rank) == ("platform", 0)
    assert history_entries([]) == []
