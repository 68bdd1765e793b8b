"""Real Chromium: comment on a passage selected with the mouse, and on a paragraph using only
the keyboard; the form, receipt and item page work, with no console errors or CSP violations
and no serious accessibility violations."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from playwright.sync_api import expect

from tests.browser.conftest import serious_violations

pytestmark = pytest.mark.browser

CLAUSE_PAGE = "/specs/model-spec/versions/2025-09-12/clauses/letter_and_spirit/"
TRACKING = re.compile(r"^MS-\d{4}-\d{5}$")
# The machine is shared: give page loads after a click more than the default 5 s.
NAVIGATION = 20_000


@pytest.fixture(autouse=True)
def _fast_form(settings):
    # The live server runs in this process, so the override reaches it.
    settings.FEEDBACK_MIN_FILL_SECONDS = 0


def plain_text(anchor: str = "letter_and_spirit") -> str:
    from revisions.models import ClauseText

    return ClauseText.objects.get(version__label="2025-09-12", anchor=anchor).plain_text


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def drag_select(page, selector: str, words: str) -> None:
    """Select `words` inside the first text node of `selector` with a real mouse drag."""
    box = page.evaluate(
        """([selector, words]) => {
            const el = document.querySelector(selector);
            const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode())) {
                const at = node.data.indexOf(words);
                if (at === -1) continue;
                const first = document.createRange();
                first.setStart(node, at); first.setEnd(node, at + 1);
                const last = document.createRange();
                last.setStart(node, at + words.length - 1); last.setEnd(node, at + words.length);
                const a = first.getBoundingClientRect(), b = last.getBoundingClientRect();
                return {x1: a.left + 1, y1: a.top + a.height / 2, x2: b.right - 1,
                        y2: b.top + b.height / 2};
            }
            return null;
        }""",
        [selector, words],
    )
    assert box is not None
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move((box["x1"] + box["x2"]) / 2, box["y2"], steps=5)
    page.mouse.move(box["x2"], box["y2"], steps=5)
    page.mouse.up()


def tab_until(page, test: str, limit: int = 250) -> None:
    """Press Tab until `test` (a JS expression on `el`, the focused element) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({test}); }})()"):
            return
    raise AssertionError(f"never focused: {test}")


def test_comment_on_a_passage_selected_with_the_mouse(bundled_live, watched_page, axe):
    page = watched_page
    page.goto(bundled_live.url + CLAUSE_PAGE)
    page.locator("section#letter_and_spirit .clause-body p").first.scroll_into_view_if_needed()
    drag_select(page, "section#letter_and_spirit .clause-body p", "literal wording")
    assert page.evaluate("getSelection().toString()") == "literal wording"
    button = page.locator("a.fb-passage-link")
    expect(button).to_be_visible()
    expect(button).to_have_text("Comment on this passage")
    button.click()

    expect(page).to_have_url(
        re.compile(r"/feedback/new/\?.*exact=literal\+wording"), timeout=NAVIGATION
    )
    expect(page.locator(".fb-quote mark")).to_have_text("literal wording")
    # The script measured the passage in the clause's plain text exactly as the server does.
    start = plain_text().index("literal wording")
    query = query_of(page.url)
    assert (query["start"], query["end"]) == (str(start), str(start + 15))
    assert plain_text().replace("\n", " ")[start - 32 : start] == query["prefix"]
    assert serious_violations(axe.run(page)) == []
    # Sent empty: the error summary takes focus and links to each field.
    page.get_by_role("button", name="Send feedback").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused(timeout=NAVIGATION)
    expect(summary.locator("a[href='#id_kind_0']")).to_be_visible()
    assert serious_violations(axe.run(page)) == []
    summary.locator("a[href='#id_summary']").click()
    expect(page.locator("#id_summary")).to_be_focused()
    # (the browser reports the 400 answer itself as a console error)
    page.problems[:] = [p for p in page.problems if "status of 400" not in p]
    page.get_by_label("Unclear").check()
    page.get_by_label("Summary").fill("Say what 'literal wording' excludes")
    page.get_by_label("Details").fill("Does *literal wording* include formatting?")
    page.get_by_role("button", name="Send feedback").click()

    expect(page.locator("h1")).to_contain_text("your feedback was received", timeout=NAVIGATION)
    number = page.locator(".fb-tracking-number").inner_text()
    assert TRACKING.match(number), number
    expect(page.locator("a.fb-follow-link")).to_contain_text(f"/feedback/{number}/follow/")
    from feedback.models import FeedbackItem

    item = FeedbackItem.objects.get(tracking_number=number)
    assert (item.quote_exact, item.position_start) == ("literal wording", start)

    page.get_by_role("link", name="See the feedback's page").click()
    expect(page.locator("h1")).to_have_text("Say what 'literal wording' excludes")
    expect(page.locator(".fb-quote mark")).to_have_text("literal wording")
    assert serious_violations(axe.run(page)) == []
    # Endorse through htmx (CSRF from hx-headers); the count changes in place.
    page.get_by_role("button", name=re.compile("Endorse")).click()
    expect(page.locator("#endorse .fb-endorse-count")).to_have_text("1 endorsement")
    expect(page.locator("#endorse .fb-endorse-message")).to_be_focused()
    assert page.problems == []


def test_comment_on_a_paragraph_with_the_keyboard_only(bundled_live, watched_page):
    from feedback.services import Submission, feedback_submit
    from revisions.models import Version

    version = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    existing = feedback_submit(
        acting_user=AnonymousUser(),
        submission=Submission(
            version=version,
            clause_id="letter_and_spirit",
            kind="unclear",
            summary="Overstepping needs clearer examples",
        ),
    ).item
    page = watched_page
    page.goto(bundled_live.url + CLAUSE_PAGE)
    # Tab through the page to the second paragraph's own comment link.
    tab_until(
        page,
        "el.classList.contains('fb-paragraph-link') && "
        "el.closest('p') === document.querySelectorAll("
        "'#letter_and_spirit .clause-body > p')[1]",
    )
    link = page.locator(":focus")
    expect(link).to_be_visible()
    expect(link).to_contain_text("Comment on this paragraph")
    page.keyboard.press("Enter")

    expect(page).to_have_url(
        re.compile(r"/feedback/new/\?.*exact=While\+the\+assistant"), timeout=NAVIGATION
    )
    expect(page.locator(".fb-quote mark")).to_contain_text(
        "While the assistant should display big-picture thinking"
    )
    paragraph = plain_text().split("\n")[1]
    query = query_of(page.url)
    assert query["exact"] == paragraph
    assert query["start"] == str(plain_text().index(paragraph))
    tab_until(page, "el.id === 'id_kind_0'")
    page.keyboard.press("ArrowDown")  # to "I disagree", which also checks it
    expect(page.locator("#id_kind_1")).to_be_checked()
    tab_until(page, "el.id === 'id_summary'")
    page.keyboard.type("Overstepping needs examples")
    # htmx looks for similar feedback as the summary is typed.
    panel = page.locator("#similar-panel")
    expect(panel).to_contain_text(existing.tracking_number)
    expect(panel.get_by_role("button", name=re.compile("Endorse instead"))).to_be_visible()
    tab_until(page, "el.id === 'id_body'")
    page.keyboard.type("Where is the line between helping and overstepping?")
    tab_until(page, "el.tagName === 'BUTTON' && el.value === 'send'")
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_contain_text("your feedback was received", timeout=NAVIGATION)
    number = page.locator(".fb-tracking-number").inner_text()
    assert TRACKING.match(number), number
    from feedback.models import FeedbackItem

    item = FeedbackItem.objects.get(tracking_number=number)
    assert (item.kind, item.quote_exact) == ("disagree", paragraph)
    assert page.problems == []


def test_reader_shows_comment_links_and_counts(bundled_live, watched_page):
    page = watched_page
    page.goto(bundled_live.url + "/specs/model-spec/versions/2025-09-12/")
    section = page.locator("section#letter_and_spirit")
    expect(section.locator(".fb-comment-link")).to_have_text("Comment")
    assert section.locator(".fb-paragraph-link").count() >= 2
    # Each example has its own link, and a selection inside one example comments on it.
    example = section.locator("figure.example").first
    slug = example.get_attribute("id").removeprefix("example-")
    expect(example.locator("a.fb-example-link")).to_have_attribute(
        "href", re.compile(rf"clause=letter_and_spirit&example={slug}$")
    )
    example.locator(".turn-content p").first.select_text()
    page.mouse.up()
    floating = page.locator("a.fb-passage-link")
    expect(floating).to_have_text("Comment on this example")
    floating.click()
    expect(page).to_have_url(re.compile(rf"example={slug}"), timeout=NAVIGATION)
    expect(page.locator(".fb-target").last).to_contain_text("About the example")
    page.go_back()
    # A selection across two clauses offers nothing.
    page.evaluate(
        """() => {
            const a = document.querySelector('#letter_and_spirit .clause-body p');
            const b = document.querySelector('#overview .clause-body p');
            const r = document.createRange();
            r.setStart(b.firstChild, 0); r.setEnd(a.firstChild, 5);
            getSelection().removeAllRanges(); getSelection().addRange(r);
        }"""
    )
    page.mouse.up()
    page.wait_for_timeout(400)
    expect(page.locator("a.fb-passage-link")).to_be_hidden()
    assert page.problems == []
