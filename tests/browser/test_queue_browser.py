"""Real Chromium: a triager works the triage queue with the keyboard only (j/k to move, a to
assign to themselves, t to triage, s to mark spam after a confirmation, o to open), and the
rows update in place; shortcuts stay quiet while typing in a field. No console errors or CSP
violations, no serious accessibility violations."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group
from django.test import Client
from playwright.sync_api import expect

from feedback.models import FeedbackItem, State
from feedback.services import Submission, feedback_submit
from revisions.models import ClauseText, Version
from tests.browser.conftest import serious_violations
from tests.conftest import sign_in_two_factor

pytestmark = pytest.mark.browser

NAVIGATION = 20_000


def signed_in_staff(django_user_model, *roles: str, username: str) -> str:
    """A staff session that passed two-factor sign-in (as tests/conftest.py `staff_client`
    makes one), returned as the session cookie's value."""
    user = django_user_model.objects.create_user(
        username=username, email=f"{username}@example.org", password="pw-12345-long", is_staff=True
    )
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = sign_in_two_factor(Client(), user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def file_items(count: int) -> list[FeedbackItem]:
    version = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    clause = ClauseText.objects.filter(version=version, authority_rank=3).order_by("position")[0]
    items = []
    for n in range(count):
        submission = Submission(
            version=version, clause_id=clause.anchor, kind="unclear", summary=f"Queue item {n}"
        )
        items.append(feedback_submit(acting_user=AnonymousUser(), submission=submission).item)
    return items


def current_number(page) -> str | None:
    return page.evaluate(
        "(() => { const el = document.activeElement;"
        " return el && el.matches('tr.queue-row.is-current') ? el.dataset.tn : null; })()"
    )


def test_a_triager_works_the_queue_with_the_keyboard(bundled_live, watched_page, axe,
                                                     django_user_model):  # fmt: skip
    page = watched_page
    items = file_items(4)
    numbers = [i.tracking_number for i in items]  # oldest waiting first: filing order
    cookie = signed_in_staff(django_user_model, "triager", username="keyboarder")
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": bundled_live.url}]
    )
    page.goto(bundled_live.url + "/staff/queue/")
    expect(page.locator("h1")).to_have_text("Triage queue")
    expect(page.locator("tr.queue-row")).to_have_count(4)
    expect(page.get_by_text("Keyboard shortcuts")).to_be_visible()

    page.keyboard.press("j")
    assert current_number(page) == numbers[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert current_number(page) == numbers[1]
    row = page.locator(f'tr.queue-row[data-tn="{numbers[1]}"]')
    expect(row).to_have_class("queue-row is-current")

    # a: assign to me. The row updates in place and keeps the focus.
    page.keyboard.press("a")
    expect(row.locator(".queue-assignee")).to_have_text("keyboarder")
    expect(page.locator("#queue-outcome")).to_contain_text(f"{numbers[1]}: Assigned to you.")
    page.wait_for_function(f"document.activeElement.dataset.tn === '{numbers[1]}'")
    # t: triage.
    page.keyboard.press("t")
    expect(row.locator(".queue-state")).to_have_text("Triaged")
    page.wait_for_function(f"document.activeElement.dataset.tn === '{numbers[1]}'")
    assert current_number(page) == numbers[1]
    item = FeedbackItem.objects.get(tracking_number=numbers[1])
    assert (item.state, item.assignee.username) == (State.TRIAGED, "keyboarder")

    # Typing in a field is typing, not a shortcut.
    page.locator("#save-view-name").focus()
    page.keyboard.type("jats")
    expect(page.locator("#save-view-name")).to_have_value("jats")
    assert FeedbackItem.objects.get(tracking_number=numbers[2]).state == State.RECEIVED

    # s: mark spam, once confirmed; the item leaves the active queue and the next row takes
    # its place under the keyboard.
    page.locator(f'tr.queue-row[data-tn="{numbers[2]}"]').focus()
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.keyboard.press("s")
    expect(page.locator("tr.queue-row")).to_have_count(3)
    assert dialogs == ["Mark this item as spam?"]
    assert FeedbackItem.objects.get(tracking_number=numbers[2]).state == State.SPAM
    page.wait_for_function(f"document.activeElement.dataset.tn === '{numbers[3]}'")

    results = axe.run(page)
    assert serious_violations(results) == []
    assert page.problems == []

    # o: open the item's staff page. (Triaged just now, that item waits at the end.)
    page.keyboard.press("j")
    assert current_number(page) == numbers[1]
    with page.expect_navigation(timeout=NAVIGATION):
        page.keyboard.press("o")
    assert page.url.endswith(f"/staff/items/{numbers[1]}/")


def test_bulk_actions_with_checkboxes_and_htmx(bundled_live, watched_page, django_user_model):
    page = watched_page
    numbers = [i.tracking_number for i in file_items(3)]
    cookie = signed_in_staff(django_user_model, "triager", username="clicker")
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": bundled_live.url}]
    )
    page.goto(bundled_live.url + "/staff/queue/")
    page.get_by_label(f"Select {numbers[0]}").check()
    page.get_by_label(f"Select {numbers[2]}").check()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#queue-outcome li.queue-outcome-ok")).to_have_count(2)
    assert page.url.endswith("/staff/queue/")  # swapped in place, no page load
    assignees = dict(FeedbackItem.objects.values_list("tracking_number", "assignee__username"))
    assert [assignees[n] for n in numbers] == ["clicker", None, "clicker"]
    # Marking spam asks first; dismissing sends nothing.
    page.get_by_label(f"Select {numbers[1]}").check()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Mark as spam").click()
    page.wait_for_timeout(500)
    assert FeedbackItem.objects.get(tracking_number=numbers[1]).state == State.RECEIVED
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark as spam").click()
    expect(page.locator("tr.queue-row")).to_have_count(2)
    assert FeedbackItem.objects.get(tracking_number=numbers[1]).state == State.SPAM
    assert page.problems == []
