"""The pure parser over the real bundled versions and over bad input. No database."""

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revisions.importing import SpecSyntaxError, parse_spec
from revisions.importing.parser import ELIDED

DATA = Path(__file__).resolve().parents[2] / "data" / "model-spec"
VOCABULARY = {"root", "platform", "system", "developer", "user", "guideline"}
VERSIONS = ["2025-02-12", "2025-04-11", "2025-09-12"]


def naive_counts(text: str) -> tuple[int, int, Counter]:
    """Count headings, examples and authority words with a plain line scan that skips fenced
    blocks: an independent check on what the parser finds."""
    headings = examples = 0
    authorities: Counter = Counter()
    fence = None
    for line in text.split("\n"):
        marker = re.match(r"^(```|~~~)", line)
        if marker:
            fence = None if fence == marker.group(1) else (fence or marker.group(1))
            continue
        if fence:
            continue
        if re.match(r"^#{1,4} ", line):
            headings += 1
            word = re.search(r"authority=(\w+)", line)
            authorities[word.group(1) if word else None] += 1
        if line.startswith("**Example**"):
            examples += 1
    return headings, examples, authorities


@pytest.mark.parametrize("label", VERSIONS)
def test_bundled_version_counts_match_the_file(label):
    raw = (DATA / f"{label}.md").read_bytes()
    parsed = parse_spec(raw, authority_vocabulary=VOCABULARY)
    headings, examples, authorities = naive_counts(raw.decode())
    assert len(parsed.clauses) == headings
    assert parsed.example_count == examples
    assert Counter(c.authority for c in parsed.clauses) == authorities


EXPECTED = {
    "2025-02-12": (71, 154, {"platform": 20, "guideline": 18, "user": 12, "developer": 1}),
    "2025-04-11": (71, 154, {"platform": 20, "guideline": 18, "user": 12, "developer": 1}),
    "2025-09-12": (
        77,
        173,
        {"root": 20, "guideline": 18, "user": 15, "system": 3, "developer": 1},
    ),
}


@pytest.mark.parametrize("label", VERSIONS)
def test_bundled_version_known_figures(label):
    parsed = parse_spec((DATA / f"{label}.md").read_bytes(), authority_vocabulary=VOCABULARY)
    clauses, examples, authorities = EXPECTED[label]
    assert len(parsed.clauses) == clauses
    assert parsed.example_count == examples
    counted = Counter(c.authority for c in parsed.clauses if c.authority)
    assert counted == authorities
    # Grouping sections (no authority) are the rest.
    assert sum(1 for c in parsed.clauses if c.authority is None) == clauses - sum(
        authorities.values()
    )


def test_latest_version_structure():
    parsed = parse_spec((DATA / "2025-09-12.md").read_bytes(), authority_vocabulary=VOCABULARY)
    by_id = {c.anchor: c for c in parsed.clauses}
    rule = by_id["follow_all_applicable_instructions"]
    assert rule.authority == "root"
    assert rule.level == 2
    assert rule.parent_anchor == "chain_of_command"
    assert rule.heading == "Follow all applicable instructions"
    assert rule.number == "3.1"
    assert "m12p" in rule.footnotes
    assert "ignore_untrusted_data" in rule.xrefs
    # Lines starting with `#` inside fenced code are not headings.
    assert "functions" not in by_id
    deep = by_id["sexual_content_involving_minors"]
    assert (deep.level, deep.parent_anchor) == (4, "prohibited_content")
    titles = [e.title for e in rule.examples]
    assert titles[0].startswith("root/developer conflict: request that goes against the")
    first = rule.examples[0]
    assert [t.role for t in first.turns] == ["developer", "user", "assistant", "assistant"]
    assert [(t.candidate, t.label) for t in first.turns[2:]] == [(True, "BAD"), (True, "GOOD")]
    kinds = [s.kind for s in rule.segments]
    assert kinds.count("example") == len(rule.examples)
    assert kinds[-1] == "commentary"
    assert rule.segments[-1].title == "Commentary"


def test_labels_reasons_and_clause_pointers_are_kept():
    parsed = parse_spec((DATA / "2025-09-12.md").read_bytes(), authority_vocabulary=VOCABULARY)
    answers = [t for c in parsed.clauses for e in c.examples for t in e.turns if t.label]
    pointed = [t for t in answers if t.label_clause]
    assert {t.label_clause for t in pointed} == {
        "chain_of_command",
        "protect_privileged_information",
        "assume_objective_pov",
        "avoid_info_hazards",
    }
    assert any(t.label == "BAD" and t.label_note for t in pointed)
    assert Counter(t.label for t in answers) == {"GOOD": 186, "BAD": 186, "OK": 7}
    reasoned = [
        t for t in answers if t.label == "GOOD" and t.label_note == "given high uncertainty"
    ]
    assert len(reasoned) == 1
    tool = [t for c in parsed.clauses for e in c.examples for t in e.turns if t.role == "tool"]
    assert tool[0].attributes == (("name", "browser"),)


def test_elisions_and_stray_marks_are_tolerated_with_a_warning():
    parsed = parse_spec((DATA / "2025-02-12.md").read_bytes(), authority_vocabulary=VOCABULARY)
    elided = [t for c in parsed.clauses for e in c.examples for t in e.turns if t.role == ELIDED]
    assert [t.content for t in elided] == ["[...]"]
    assert any("stray '*'" in w for w in parsed.warnings)


def test_heading_attributes_other_than_authority_are_kept():
    text = "# Top {#top}\n\n## Teen safety {#teens authority=root tags=under_18}\n\nBody.\n"
    parsed = parse_spec(text, authority_vocabulary=VOCABULARY)
    teen = parsed.clauses[1]
    assert teen.authority == "root"
    assert teen.attributes == (("tags", "under_18"),)


def test_content_hash_changes_with_text_only():
    a = parse_spec("# A {#a}\n\nOne.\n", authority_vocabulary=VOCABULARY)
    b = parse_spec("# A {#a}\n\nOne.\n\n", authority_vocabulary=VOCABULARY)
    c = parse_spec("# A {#a}\n\nTwo.\n", authority_vocabulary=VOCABULARY)
    assert a.clauses[0].content_hash == b.clauses[0].content_hash
    assert a.clauses[0].content_hash != c.clauses[0].content_hash


GOOD_EXAMPLE = (
    "**Example**: a title\n\n~~~xml\n<user>\nhi\n</user>\n<comparison>\n"
    "<assistant> <!-- GOOD -->\nhello\n</assistant>\n</comparison>\n~~~\n"
)


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        (b"", None, "empty"),
        (b"   \n\n", None, "empty"),
        (b"# A {#a}\n\nbad \xff byte\n", 3, "not valid UTF-8"),
        (b"# A {#a}\n\n## B {#a}\n", 3, "duplicate id #a (first used on line 1)"),
        (b"# A {#a}\n\n## B\n", 3, "has no {#id}"),
        (b"# A {#a authority=emperor}\n", 1, "authority 'emperor' is not in"),
        (b"# A {#a}\n\n### C {#c}\n", 3, "heading level jumps from 1 to 3"),
        (b"intro\n\n# A {#a}\n", 1, "text before the first heading"),
        (b"# A {#a}\n\n**Example**: t\n\n~~~xml\n<user>\nhi\n</user>\n", 5, "never closes"),
        (b"# A {#a}\n\n**Example**: t\n\n~~~xml\n<user>\nhi\n~~~\n", 6, "<user> opened"),
        (b"# A {#a}\n\n**Example**: t\n\nno block\n", 3, "not followed by a ~~~xml"),
        (b"# A {#a}\n\n**Example**: t\n\n~~~xml\n<robot>\nx\n</robot>\n~~~\n", 6, "expected a"),
        (
            b"# A {#a}\n\n**Example**: t\n\n~~~xml\n<assistant> <!-- GREAT -->\nx\n</assistant>\n~~~\n",
            6,
            "answer label",
        ),
        (
            ("# A {#a}\n\n" + GOOD_EXAMPLE + "\n" + GOOD_EXAMPLE).encode(),
            16,
            "duplicate example title",
        ),
        (b"# A {#a}\n\n```python\nprint(1)\n", 3, "code block opened here never closes"),
        (b"# A {#a x}\n", 1, "not written as key=value"),
        (b"# A {#a}\n\x00\n", 2, "NUL"),
    ],
)
def test_bad_input_names_the_line(source, line, message):
    with pytest.raises(SpecSyntaxError) as caught:
        parse_spec(source, authority_vocabulary=VOCABULARY)
    assert caught.value.line == line
    assert message in caught.value.message


def test_oversize_file_is_refused_before_parsing():
    with pytest.raises(SpecSyntaxError, match="limit is 1,000 bytes"):
        parse_spec(b"# A {#a}\n" + b"x" * 2000, authority_vocabulary=VOCABULARY, max_bytes=1000)


def test_bom_and_crlf_are_normalised():
    parsed = parse_spec(b"\xef\xbb\xbf# A {#a}\r\n\r\nText.\r\n", authority_vocabulary=VOCABULARY)
    assert parsed.clauses[0].body_markdown == "Text."


FRAGMENTS = [
    "# Title {#t1}", "## Rule {#r1 authority=root}", "### Sub {#s1 authority=user}",
    "#### Deep {#d1}", "# No id", "## Bad {#b authority=nope}", "Some *prose* text.",
    "", "", "**Example**: an example", "~~~xml", "~~~", "```", "<user>", "</user>",
    "<assistant> <!-- GOOD -->", "<assistant> <!-- BAD: why -->", "</assistant>",
    "<comparison>", "</comparison>", "[...]", '!!! meta "Commentary"', "    indented note",
    "- list item", "> quote", "[?](#t1)", "text[^abcd]", "<script>alert(1)</script>",
    "\u202e rtl", "# {#empty}", "#hash", "####### seven",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30)),
        min_size=0,
        max_size=40,
    )
)
def test_random_markdown_parses_or_raises_the_import_error(lines):
    source = "\n".join(lines)
    try:
        parsed = parse_spec(source, authority_vocabulary=VOCABULARY)
    except SpecSyntaxError as exc:
        assert exc.message
        return
    anchors = [c.anchor for c in parsed.clauses]
    assert len(anchors) == len(set(anchors))
    for clause in parsed.clauses:
        assert 1 <= clause.level <= 4
        assert clause.authority is None or clause.authority in VOCABULARY
