"""Real Chromium, end to end (issue 5, item 8): an accepted public item with a suggested
replacement text becomes a change proposal, the proposal is reviewed, applied to a draft, and
the draft is published by a real Celery worker while the editor watches the progress bar; the
public item page then says "incorporated" and shows the clause's diff.

The item is filed and accepted through services (that part has its own browser test); every
step after it happens in the browser. The clause is a guideline-level one, so the approval
rule asks for one reviewer's accept, for the item and for the proposal.

The worker is a separate process (`celery -A modelspec_site worker --pool=solo`, as `make run`
starts it) on this test's database. When the session already has a broker (`make test` starts
a Redis and sets CELERY_BROKER_URL) the worker consumes that one; otherwise the test starts a
Redis of its own and points the in-process Celery app at it for its duration. The worker loads
`tests.revisions.publish_gate`, which holds the publish transaction open (after feedback was
carried forward) until the test opens the gate: the test sees the job running, with its
progress bar, before letting it finish. Without redis-server and without a session broker,
tasks run eagerly in the web process and the progress page is already done when it opens.
No console errors or CSP violations; no serious accessibility violations on the proposal page,
the draft builder and the progress page."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from playwright.sync_api import expect

from tests.browser.conftest import serious_violations
from tests.browser.test_review_browser import signed_in_page, staff_member

pytestmark = pytest.mark.browser
NAVIGATION = 20_000
BASE_DIR = Path(__file__).resolve().parents[2]
GATE_ENV = "PUBLISH_GATE_DIR"

CLAUSE = "respond_to_audio_testing_in_voice_mode"  # a guideline: one accept is enough
QUOTE = "acknowledge such tests with good humor"
SUGGESTION = "acknowledge such tests briefly and with a smile"
DRAFT_LABEL = "2099-06-01"


def _wait(condition, what: str, logs: Path | None, seconds: float = 45) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    detail = logs.read_text()[-3000:] if logs is not None and logs.exists() else ""
    pytest.fail(f"waited {seconds}s for {what}\n{detail}")


def _drop_pools(app) -> None:
    """Forget the app's broker connections (not `app.close()`: that unregisters the app)."""
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    pools.reset()  # kombu's process-wide producer pools, closed with the connections


@pytest.fixture
def publish_worker(bundled_live, tmp_path):
    """A real Celery worker on this test's database and a Redis broker; yields its gate folder
    and log file (None when tasks run eagerly because there is no Redis to run a worker
    with)."""
    from modelspec_site.celery import app
    from tests.outbox.test_sigkill import _env, _free_port

    eager_before, url_before = app.conf.task_always_eager, app.conf.broker_url
    redis = worker = None
    if eager_before and shutil.which("redis-server") is None:
        yield None
        return
    gate = tmp_path / "gate"
    gate.mkdir()
    logs = tmp_path / "worker.log"
    try:
        if eager_before:
            port = _free_port()
            redis = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(tmp_path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            url = f"redis://127.0.0.1:{port}/0"
            import redis as redis_client

            client = redis_client.Redis.from_url(url)

            def up() -> bool:
                try:
                    return bool(client.ping())
                except redis_client.ConnectionError:
                    return False

            _wait(up, "redis-server to answer", None)
            _drop_pools(app)  # no connection made for another broker is reused
            app.conf.broker_url = url
            app.conf.task_always_eager = False
        else:
            url = app.conf.broker_url
        env = _env(url, tmp_path / "mail") | {
            GATE_ENV: str(gate),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "modelspec_site", "worker", "--pool=solo",
             "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-I", "tests.revisions.publish_gate", "-n", "e2e-publish@%h"],
            cwd=BASE_DIR, env=env, stdout=logs.open("a"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        yield SimpleNamespace(gate=gate, logs=logs)
    finally:
        (gate / "open").touch()  # never leave the worker holding a transaction
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
        app.conf.task_always_eager = eager_before
        app.conf.broker_url = url_before
        if redis is not None:  # only when this test switched brokers
            _drop_pools(app)
            redis.terminate()
            redis.wait(10)


def accepted_item(make_user):
    """A public item quoting a passage of a guideline clause with a suggested replacement,
    triaged, reviewed (one accept) and accepted: all through services."""
    from feedback.services import Quote, Submission, feedback_submit
    from feedback.transitions import decision_record, feedback_transition
    from revisions.models import ClauseText, Version

    version = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    text = ClauseText.objects.get(version=version, anchor=CLAUSE)
    assert text.authority == "guideline"
    start = text.plain_text.index(QUOTE)
    end = start + len(QUOTE)
    item = feedback_submit(
        acting_user=AnonymousUser(),
        submission=Submission(
            version=version, clause_id=CLAUSE, kind="editorial", summary="Mic checks: be brief",
            quote=Quote(exact=QUOTE, prefix=text.plain_text[max(0, start - 32):start],
                        suffix=text.plain_text[end:end + 32], start=start, end=end),
            suggested_text=SUGGESTION, submitter_email="mic@example.org",
        ),
    ).item  # fmt: skip
    triager = staff_member(make_user, "tri-e2e", "triager")
    reviewer = staff_member(make_user, "rev-item-e2e", "reviewer")
    feedback_transition(acting_user=triager, item=item, action="triage")
    feedback_transition(acting_user=triager, item=item, action="start_review")
    decision_record(acting_user=reviewer, item=item, position="accept", rationale="Shorter.")
    feedback_transition(
        acting_user=reviewer, item=item, action="accept", rationale="We will say it briefly."
    )
    item.refresh_from_db()
    assert item.state == "accepted"
    return item


def test_an_accepted_item_becomes_a_published_change(
    bundled_live, publish_worker, browser, watched_page, make_user, axe
):
    from feedback.models import FeedbackItem
    from revisions.models import ChangeProposal, PublishJob, Version

    live = bundled_live.url
    item = accepted_item(make_user)
    editor = staff_member(make_user, "ed-e2e", "editor")
    reviewer = staff_member(make_user, "rev-prop-e2e", "reviewer")
    problems: list[str] = []

    # The editor drafts a proposal from the item's staff page; the form comes prefilled.
    ed = signed_in_page(browser, bundled_live, editor, problems)
    ed.goto(f"{live}/staff/items/{item.tracking_number}/")
    ed.get_by_role("link", name="Draft a change proposal").click()
    expect(ed.get_by_role("heading", level=1)).to_have_text("Draft a change proposal")
    expect(ed.get_by_label("Text (Markdown)")).to_have_value(re.compile(re.escape(SUGGESTION)))
    assert serious_violations(axe.run(ed)) == []
    ed.get_by_role("button", name="Send for review").click()
    expect(ed.locator("#proposal-state")).to_have_text("In review", timeout=NAVIGATION)
    proposal = ChangeProposal.objects.get(feedback_links__item=item)
    assert proposal.base_text.anchor == CLAUSE
    # Only the suggestion differs (the textarea's CRLF line ends are not a change).
    assert proposal.new_body_markdown == proposal.base_text.body_markdown.replace(QUOTE, SUGGESTION)
    expect(ed.locator(".proposal-diff ins").first).to_contain_text("briefly")
    expect(ed.locator(".proposal-diff del")).to_contain_text("good humor")
    expect(ed.locator("#approval-status")).to_contain_text("0 of 1 accept")
    assert serious_violations(axe.run(ed)) == []

    # A reviewer accepts it: one accept is what a guideline clause needs.
    rev = signed_in_page(browser, bundled_live, reviewer, problems)
    rev.goto(f"{live}/staff/proposals/{proposal.pk}/")
    form = rev.locator("form[action$='/position/']")
    form.get_by_label("Accept").check()
    form.get_by_label("Rationale").fill("Briefer is better in voice mode.")
    form.get_by_role("button", name="Record position").click()
    expect(rev.locator("#proposal-state")).to_have_text(
        "Accepted, waiting for a draft", timeout=NAVIGATION
    )
    rev.context.close()

    # The editor starts a draft and applies the proposal in the builder (htmx swaps the list).
    ed.goto(f"{live}/staff/drafts/")
    ed.get_by_label("Label of the new version").fill(DRAFT_LABEL)
    ed.get_by_role("button", name="Start the draft").click()
    expect(ed.get_by_role("heading", level=1)).to_contain_text(DRAFT_LABEL, timeout=NAVIGATION)
    row = ed.locator(f"#proposal-row-{proposal.pk}")
    expect(row).to_contain_text("Applicable")
    assert serious_violations(axe.run(ed)) == []
    row.get_by_role("button", name=f"Apply P{proposal.pk}").click()
    expect(ed.locator("#draft-proposals [role=status]")).to_have_text(
        f"Proposal P{proposal.pk} applied.", timeout=NAVIGATION
    )
    expect(row.locator(".draft-status")).to_have_text("Applied")
    assert serious_violations(axe.run(ed)) == []

    # Publish: the progress page polls while a worker publishes.
    ed.get_by_role("button", name=f"Publish {DRAFT_LABEL}").click()
    expect(ed.get_by_role("heading", level=1)).to_contain_text(
        f"Publishing OpenAI Model Spec {DRAFT_LABEL}", timeout=NAVIGATION
    )
    job = PublishJob.objects.get(version__label=DRAFT_LABEL)
    progress = ed.locator("#publish-progress")
    if publish_worker is not None:
        # The worker holds the publish transaction open after carrying the feedback forward:
        # the page, polling, shows the job running with its bar.
        gate = publish_worker.gate
        _wait(lambda: (gate / "waiting").exists(), "the worker to publish",
              publish_worker.logs, seconds=60)  # fmt: skip
        expect(progress.locator(".publish-state")).to_contain_text("Running", timeout=NAVIGATION)
        running_bar = progress.locator("progress#publish-bar")
        expect(running_bar).to_be_visible()
        expect(running_bar).to_have_attribute("max", re.compile(r"^[1-9][0-9]*$"))
        expect(progress.get_by_role("status")).to_have_text(re.compile(r"\d+ of \d+"))
        assert serious_violations(axe.run(ed)) == []
        assert Version.objects.get(label=DRAFT_LABEL).state == "draft"  # not committed yet
        (gate / "open").touch()
    expect(progress.locator(".publish-state")).to_contain_text("Published", timeout=NAVIGATION)
    bar = progress.locator("progress#publish-bar")
    expect(bar).to_have_attribute("value", "1")
    expect(bar).to_have_attribute("max", "1")
    expect(progress.get_by_role("status")).to_contain_text(f"Version {DRAFT_LABEL} is published.")
    assert serious_violations(axe.run(ed)) == []
    job.refresh_from_db()
    assert job.state == "done" and job.attempts == 1
    ed.get_by_role("link", name=f"Read version {DRAFT_LABEL}").click()
    expect(ed).to_have_url(f"{live}/specs/model-spec/versions/{DRAFT_LABEL}/")
    expect(ed.locator(f"#{CLAUSE}")).to_be_attached()
    assert SUGGESTION in ed.locator("main").inner_text()
    ed.context.close()

    item = FeedbackItem.objects.get(pk=item.pk)
    assert item.state == "incorporated"

    # The public, in a fresh browser context, sees "incorporated" and the clause's diff.
    public = watched_page
    public.goto(f"{live}/feedback/{item.tracking_number}/")
    expect(public.locator(".fb-state-incorporated")).to_contain_text("Incorporated")
    standing = public.locator(".fb-standing")
    expect(standing.get_by_role("heading", level=2)).to_have_text(
        f"Incorporated in version {DRAFT_LABEL}"
    )
    expect(standing.locator(".diff ins").first).to_contain_text("briefly")
    expect(standing.locator(".diff del")).to_contain_text("good humor")
    assert serious_violations(axe.run(public)) == []
    assert problems == [] and public.problems == []
