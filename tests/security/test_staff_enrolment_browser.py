"""Real Chromium: a new staff member signs in, enrols an authenticator app from the QR page
under the site's Content-Security-Policy, and reaches the admin."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.security.helpers import PASSWORD, totp_code

pytestmark = pytest.mark.browser


@pytest.fixture
def watched_page(page):
    """A page that records console errors (CSP violations are reported there) and script
    errors, for asserting none happened."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems
    return page


def test_new_staff_member_enrols_totp_and_reaches_the_admin(
    live_server, transactional_db, make_staff, watched_page
):
    make_staff("tina")
    page = watched_page
    page.goto(live_server.url + "/admin/")

    # The admin sends the visitor to the site's own sign-in page.
    expect(page.locator("h1")).to_contain_text("Sign In")
    page.get_by_label("Login").fill("tina")
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    # Staff must enrol: allauth confirms the password once more, then shows the QR code.
    expect(page.locator("h1")).to_contain_text("Confirm Access")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.locator("h1")).to_contain_text("Set up an authenticator app")
    qr = page.locator(".totp-qr img")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "QR code did not load"
    # The stylesheet applies (no inline styles needed): the page is laid out by site.css.
    assert page.locator("main").evaluate("m => getComputedStyle(m).maxWidth") != "none"
    assert serious_violations(Axe().run(page)) == []

    secret = page.get_by_label("Secret key").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.locator("h1")).to_contain_text("Recovery Codes")

    page.goto(live_server.url + "/admin/")
    expect(page.locator("#site-name")).to_contain_text("Model Spec tracker administration")
    assert page.problems == []


def serious_violations(results) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} nodes"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
