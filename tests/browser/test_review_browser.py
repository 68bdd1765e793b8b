"""Real Chromium: two reviewers accept an item on a root-authority clause (the approval rule
asks for two distinct reviewers' accepts), each from the staff item page; the second one then
accepts the item with a public rationale, and the public item page shows the decision. No
console errors or CSP violations; no serious accessibility violations on the staff page."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from playwright.sync_api import expect

from tests.browser.conftest import serious_violations
from tests.feedback.work.conftest import sign_in
from tests.feedback.workflow.conftest import clause_of_rank

pytestmark = pytest.mark.browser
NAVIGATION = 20_000


def staff_member(make_user, username: str, *roles: str):
    return make_user(username, roles=roles, is_staff=True)


def signed_in_page(browser, live_server, user, problems: list[str]):
    """A browser page whose session is `user`'s, two-factor sign-in done (the session cookie
    of a test client that signed in, handed to the browser)."""
    client = sign_in(user)
    context = browser.new_context()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])  # fmt: skip
    page = context.new_page()
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return page


def record_accept(page, rationale: str) -> None:
    form = page.locator("form[action$='/position/']")
    form.get_by_label("Accept").check()
    form.get_by_label("Rationale").fill(rationale)
    form.get_by_role("button", name="Record position").click()


def test_two_reviewers_accept_an_item_on_a_root_clause(
    bundled_live, browser, watched_page, make_user, axe
):
    from feedback.models import FeedbackItem, State
    from feedback.services import Submission, feedback_submit
    from feedback.transitions import feedback_transition
    from revisions.models import Version

    version = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    root_clause = clause_of_rank(version, 0)
    item = feedback_submit(
        acting_user=AnonymousUser(),
        submission=Submission(version=version, clause_id=root_clause, kind="unclear",
                              summary="Root rule needs an example"),
    ).item  # fmt: skip
    triager = staff_member(make_user, "tara", "triager")
    feedback_transition(acting_user=triager, item=item, action="triage")
    feedback_transition(acting_user=triager, item=item, action="start_review")
    r1 = staff_member(make_user, "rev-one", "reviewer")
    r2 = staff_member(make_user, "rev-two", "reviewer")
    staff_url = f"{bundled_live.url}/staff/items/{item.tracking_number}/"
    problems: list[str] = []

    first = signed_in_page(browser, bundled_live, r1, problems)
    first.goto(staff_url)
    expect(first.locator("#item-state")).to_have_text("In review")
    expect(first.locator("#approval-status")).to_contain_text("0 of 2 accepts")
    assert serious_violations(axe.run(first)) == []
    record_accept(first, "The example makes the rule clearer.")
    # htmx: the decision section updates in place and says what happened.
    status = first.locator("#decisions")
    expect(status.locator("#approval-status")).to_contain_text("1 of 2 accepts")
    expect(status.locator("[data-fb-focus]")).to_be_focused()
    expect(status).to_contain_text("Your position is recorded: Accept.")
    # One accept is not enough on a root clause: accepting is refused, nothing changes.
    action = first.locator("#action-accept")
    action.get_by_label("Public rationale").fill("Too early")
    action.get_by_role("button", name="Accept").click()
    expect(first.locator("#problem")).to_contain_text("needs 2 reviewers", timeout=NAVIGATION)
    problems[:] = [p for p in problems if "status of 409" not in p]  # the 409 answer itself
    assert FeedbackItem.objects.get(pk=item.pk).state == State.IN_REVIEW

    second = signed_in_page(browser, bundled_live, r2, problems)
    second.goto(staff_url)
    expect(second.locator("#approval-status")).to_contain_text("1 of 2 accepts")
    record_accept(second, "Agreed with rev-one.")
    expect(second.locator("#approval-status")).to_contain_text("2 of 2 accepts")
    expect(second.locator("#approval-status")).to_contain_text("rev-one, rev-two")
    action = second.locator("#action-accept")
    action.get_by_label("Public rationale").fill("We will add an example to this rule.")
    action.get_by_role("button", name="Accept").click()
    expect(second.locator("#item-state")).to_have_text("Accepted", timeout=NAVIGATION)
    expect(second.locator(".messages")).to_contain_text("The item is now “Accepted”")

    # The public page shows the decision and its rationale, not who voted how.
    public = watched_page
    public.goto(f"{bundled_live.url}/feedback/{item.tracking_number}/")
    expect(public.locator(".fb-decision")).to_contain_text(re.compile(r"Decision:\s*Accepted"))
    expect(public.locator(".fb-decision")).to_contain_text("We will add an example to this rule.")
    expect(public.locator(".fb-timeline")).to_contain_text("Accepted")
    body = public.locator("main").inner_text()
    assert "rev-one" not in body and "The example makes the rule clearer." not in body
    assert serious_violations(axe.run(public)) == []
    assert problems == [] and public.problems == []
    first.context.close()
    second.context.close()
