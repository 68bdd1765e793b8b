"""Real Chromium: open the reader, follow links, use the keyboard, check accessibility."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import serious_violations

pytestmark = pytest.mark.browser


def test_reader_opens_and_a_clause_link_leads_to_the_clause_page(bundled_live, watched_page, axe):
    page = watched_page
    page.goto(bundled_live.url + "/")
    expect(page.locator("h1")).to_contain_text("2025-09-12")
    # The table of contents jumps within the page.
    page.locator(".toc a[href='#letter_and_spirit']").click()
    expect(page).to_have_url(re.compile(r"#letter_and_spirit$"))
    # Examples show their labels in words, not only colour.
    expect(page.locator("figure.example .label-good").first).to_contain_text("Good")
    # The permanent link of a clause opens the clause page.
    section = page.locator("section#follow_all_applicable_instructions")
    section.locator("a.permalink").click()
    expect(page).to_have_url(
        re.compile(
            r"/specs/model-spec/versions/2025-09-12/clauses/follow_all_applicable_instructions/$"
        )
    )
    expect(page.locator("h1")).to_contain_text("Follow all applicable instructions")
    expect(page.locator(".appearances li")).to_have_count(3)
    # A cross reference goes back into the reader at the right clause.
    page.locator("a.xref", has_text="Ignore untrusted data by default").first.click()
    expect(page).to_have_url(re.compile(r"/versions/2025-09-12/#ignore_untrusted_data$"))
    assert page.problems == []


def test_keyboard_skip_link_and_focus(bundled_live, watched_page):
    page = watched_page
    page.goto(bundled_live.url + "/specs/model-spec/versions/2025-09-12/clauses/letter_and_spirit/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    assert page.problems == []


@pytest.mark.parametrize(
    "path",
    [
        "/specs/model-spec/",
        "/specs/model-spec/versions/2025-09-12/clauses/follow_all_applicable_instructions/",
        "/specs/model-spec/versions/2025-02-12/",
        "/accounts/login/",
    ],
)
def test_key_pages_have_no_serious_accessibility_violations(bundled_live, watched_page, axe, path):
    page = watched_page
    page.goto(bundled_live.url + path)
    assert serious_violations(axe.run(page)) == []
    assert page.problems == []


def test_reader_fits_a_phone_screen(bundled_live, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(bundled_live.url + "/specs/model-spec/versions/2025-09-12/")
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    assert overflow <= 0
    context.close()
