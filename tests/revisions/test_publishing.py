"""Publishing as a job: start (editors, one active job per version), run (lineage, supersede,
proposals, ledger, listeners), progress written on a second connection while the publish
transaction is still open, the progress page and retry, and the `publish_version` command."""

from __future__ import annotations

import psycopg
import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from feedback.services import Submission, feedback_submit
from modelspec_site.audit.models import Event
from revisions import publishing
from revisions.models import ChangeProposal, LineageLink, PublishJob, Spec, Version
from revisions.services import version_import
from revisions.signals import version_published
from tests.conftest import DATA

SPEC = "model-spec"
CURRENT = "2025-09-12"
EDITED_SENTENCE = b"This overview sets out the goals, trade-offs, and governance approach"
NEW_CLAUSE = (
    b"\n\n# A brand new chapter {#brand_new_chapter}\n\nA clause that only the new version has.\n"
)


def draft_source() -> bytes:
    """The current version with one clause edited and one chapter added."""
    source = (DATA / f"{CURRENT}.md").read_bytes()
    assert EDITED_SENTENCE in source
    return (
        source.replace(EDITED_SENTENCE, b"This overview explains the aims and trade-offs")
        + NEW_CLAUSE
    )


def make_draft(label: str = "2099-01-01") -> Version:
    spec = Spec.objects.get(slug=SPEC)
    draft = version_import(spec=spec, label=label, data=draft_source()).version
    assert draft.state == Version.State.DRAFT
    assert draft.parent.label == CURRENT
    return draft


def file_item(*, clause: str = "structure", summary: str = "Unclear overview", **extra):
    version = Version.objects.get(spec__slug=SPEC, label=CURRENT)
    submission = Submission(version=version, clause_id=clause, kind="unclear",
                            summary=summary, **extra)  # fmt: skip
    return feedback_submit(acting_user=AnonymousUser(), submission=submission).item


@pytest.fixture
def editor(make_user):
    return make_user("pub-editor", roles=["editor"], is_staff=True)


# --- The job's lifecycle ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_job_publishes_the_draft_and_records_lineage_proposals_and_the_event(editor):
    draft = make_draft()
    previous = Version.objects.get(spec__slug=SPEC, label=CURRENT)
    proposal = ChangeProposal.objects.create(
        spec=draft.spec, operation="edit", state=ChangeProposal.State.APPLIED,
        base_version=previous, rationale="Clearer", author=editor, draft=draft,
        applied_anchor="structure",
    )  # fmt: skip
    left_alone = ChangeProposal.objects.create(
        spec=draft.spec, operation="edit", state=ChangeProposal.State.ACCEPTED,
        base_version=previous, rationale="Later", author=editor,
    )  # fmt: skip

    job = publishing.publish_start(acting_user=editor, version=draft, enqueue=False)
    assert (job.state, job.attempts, job.started_by) == ("queued", 0, editor)
    # Starting again while it is queued gives the same job, not a second one.
    assert publishing.publish_start(acting_user=editor, version=draft, enqueue=False) == job

    assert publishing.publish_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    draft.refresh_from_db()
    previous.refresh_from_db()
    assert (job.state, job.attempts, job.error) == ("done", 1, "")
    assert job.finished_at is not None
    assert (draft.state, previous.state) == ("published", "superseded")

    links = LineageLink.objects.filter(version=draft)
    kinds = dict(links.values_list("new_text__anchor", "kind").exclude(new_text=None))
    assert kinds["structure"] == "edited"
    assert kinds["brand_new_chapter"] == "added"
    assert kinds["overview"] == "unchanged"
    assert job.result["lineage"]["added"] >= 1 and job.result["lineage"]["edited"] >= 1
    assert sum(job.result["lineage"].values()) == links.count()

    proposal.refresh_from_db()
    left_alone.refresh_from_db()
    assert proposal.state == ChangeProposal.State.PUBLISHED
    assert left_alone.state == ChangeProposal.State.ACCEPTED

    [event] = Event.objects.filter(action="version.published", data__label=draft.label)
    assert event.data["supersedes"] == CURRENT
    assert event.data["lineage"] == job.result["lineage"]
    assert event.data["proposals"] == [proposal.pk]
    assert event.actor_id == editor.pk

    # A finished job is not run again.
    assert publishing.publish_run(job_id=job.pk) == "done"
    assert Event.objects.filter(action="version.published", data__label=draft.label).count() == 1


@pytest.mark.django_db
def test_only_editors_start_and_only_drafts_are_published(make_user, editor):
    draft = make_draft()
    reviewer = make_user("pub-reviewer", roles=["reviewer"], is_staff=True)
    with pytest.raises(PermissionDenied):
        publishing.publish_start(acting_user=reviewer, version=draft, enqueue=False)
    current = Version.objects.get(spec__slug=SPEC, label=CURRENT)
    with pytest.raises(publishing.PublishError, match="already published"):
        publishing.publish_start(acting_user=editor, version=current, enqueue=False)
    assert not PublishJob.objects.exists()


@pytest.mark.django_db
def test_a_failed_attempt_leaves_the_draft_and_can_be_retried(editor):
    draft = make_draft()
    events = Event.objects.count()
    calls = []

    def fail_once(sender, version, **kwargs):
        calls.append(version.label)
        if len(calls) == 1:
            raise RuntimeError("listener broke")

    version_published.connect(fail_once, dispatch_uid="test-fail-once")
    try:
        job = publishing.publish_start(acting_user=editor, version=draft, enqueue=False)
        assert publishing.publish_run(job_id=job.pk) == "failed"
        job.refresh_from_db()
        draft.refresh_from_db()
        assert job.state == "failed" and "listener broke" in job.error
        assert draft.state == "draft"
        assert Event.objects.count() == events  # the publication's event rolled back with it
        assert Version.objects.get(spec__slug=SPEC, label=CURRENT).state == "published"
        # A failed job can be queued again; a done one cannot.
        job = publishing.publish_retry(acting_user=editor, job=job, enqueue=False)
        assert (job.state, job.attempts, job.error) == ("queued", 0, "")
        assert publishing.publish_run(job_id=job.pk) == "done"
        with pytest.raises(publishing.PublishError):
            publishing.publish_retry(acting_user=editor, job=job, enqueue=False)
    finally:
        version_published.disconnect(dispatch_uid="test-fail-once")
    draft.refresh_from_db()
    assert draft.state == "published"
    assert calls == [draft.label, draft.label]


@pytest.mark.django_db
def test_a_job_started_too_often_is_given_up(editor):
    """A publication that keeps killing its worker is redelivered (acks_late); each delivery
    counts an attempt first, and after MAX_ATTEMPTS the job fails instead of looping."""
    draft = make_draft()
    job = publishing.publish_start(acting_user=editor, version=draft, enqueue=False)
    PublishJob.objects.filter(pk=job.pk).update(state="running",
                                                attempts=publishing.MAX_ATTEMPTS)  # fmt: skip
    assert publishing.publish_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    draft.refresh_from_db()
    assert "Gave up" in job.error and draft.state == "draft"


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_publish_start_queues_the_task_on_commit(editor, django_capture_on_commit_callbacks):
    """Tasks run in-process in the test settings: the callback runs the job to its end."""
    draft = make_draft()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = publishing.publish_start(acting_user=editor, version=draft)
    assert callbacks  # the task is sent only once the job's row is committed
    job.refresh_from_db()
    draft.refresh_from_db()
    assert job.state == "done" and draft.state == "published"


# --- Progress on a second connection ---------------------------------------------------------


def _other_connection():
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold", "server_side_binding"):
        params.pop(name, None)
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_to_others_while_the_publish_transaction_is_open(make_user):
    from tests.outbox.conftest import bundled_ensure

    bundled_ensure()
    editor = make_user("pub-editor-tx", roles=["editor"], is_staff=True)
    draft = make_draft("2099-02-02")
    seen = {}

    def watch(sender, version, progress, **kwargs):
        progress("carrying feedback", 5, 10)
        with _other_connection() as other:
            seen["job"] = other.execute(
                "SELECT state, step, done, total FROM revisions_publishjob WHERE version_id = %s",
                (version.pk,),
            ).fetchone()
            seen["version"] = other.execute(
                "SELECT state FROM revisions_version WHERE id = %s", (version.pk,)
            ).fetchone()[0]

    version_published.connect(watch, dispatch_uid="test-watch-progress")
    try:
        job = publishing.publish_start(acting_user=editor, version=draft, enqueue=False)
        assert publishing.publish_run(job_id=job.pk) == "done"
    finally:
        version_published.disconnect(dispatch_uid="test-watch-progress")
    # Another connection saw the progress row while the version was still a draft to it.
    assert seen["job"] == ("running", "carrying feedback", 5, 10)
    assert seen["version"] == "draft"
    job.refresh_from_db()
    assert (job.state, job.step) == ("done", "done")
    # The side connection released the run lock: nobody holds it now.
    assert publishing.lock_is_free(draft.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_the_sweep_queues_a_stuck_job_whose_lock_is_free(make_user):
    """A job left running by a dead worker (no lock held) is run again by the sweep (tasks run
    in-process here); one whose run lock is held is left alone."""
    from tests.outbox.conftest import bundled_ensure

    bundled_ensure()
    editor = make_user("pub-editor-sweep", roles=["editor"], is_staff=True)
    draft = make_draft("2099-03-03")
    job = publishing.publish_start(acting_user=editor, version=draft, enqueue=False)
    old = job.created_at.replace(year=job.created_at.year - 1)
    PublishJob.objects.filter(pk=job.pk).update(state="running", attempts=1, created_at=old)

    with _other_connection() as holder:  # a live worker holds the run lock
        holder.execute("SELECT pg_advisory_lock(%s, %s)", (publishing.LOCK_CLASS, draft.pk))
        assert publishing.publish_sweep() == 0
        # The worker dies: release at once (a closed connection's locks go only once the
        # server has noticed, which a check right after may beat).
        holder.execute("SELECT pg_advisory_unlock_all()")
    assert PublishJob.objects.get(pk=job.pk).state == "running"

    assert publishing.publish_sweep() == 1
    job.refresh_from_db()
    draft.refresh_from_db()
    assert (job.state, job.attempts, draft.state) == ("done", 2, "published")


# --- Pages -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_publish_button_and_progress_page(client, make_user, staff_client):
    draft = make_draft()
    url = reverse("revisions_editor:publish", kwargs={"pk": draft.pk})
    # Anonymous: sign in first. An account without a role: 404. Staff who are not editors: 403.
    response = client.post(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(make_user("pub-nobody"))
    assert client.post(url).status_code == 404
    client.logout()
    triager = staff_client("triager", username="pub-triager")
    assert triager.post(url).status_code == 403
    assert triager.get(url).status_code == 405
    assert not PublishJob.objects.exists()
    triager.logout()

    editor = staff_client("editor", username="pub-page-editor")
    response = editor.post(url)
    job = PublishJob.objects.get(version=draft)
    assert response.status_code == 302
    assert response["Location"] == reverse("revisions_editor:publish-job", args=[job.pk])

    page = editor.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "<progress" in html and 'role="status"' in html
    assert 'hx-trigger="every 1s"' in html  # queued: the region polls
    partial = editor.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith("<section") and "every 1s" in partial
    assert "<html" not in partial

    PublishJob.objects.filter(pk=job.pk).update(state="running", step="lineage", done=3,
                                                total=7)  # fmt: skip
    partial = editor.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'max="7" value="3"' in partial and "3 of 7" in partial

    assert publishing.publish_run(job_id=job.pk) == "done"
    partial = editor.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "every 1s" not in partial  # done: no more polling
    assert draft.get_absolute_url() in partial

    # Publishing a version that is no longer a draft: a clear 409.
    again = editor.post(url)
    assert again.status_code == 409 and "already published" in again.content.decode()


@pytest.mark.django_db
def test_a_failed_job_shows_its_error_and_a_retry_button(staff_client):
    draft = make_draft()
    job = PublishJob.objects.create(version=draft, state="failed", attempts=1,
                                    error="RuntimeError: the listener broke")  # fmt: skip
    editor = staff_client("editor", username="pub-retry-editor")
    page = editor.get(reverse("revisions_editor:publish-job", args=[job.pk])).content.decode()
    retry = reverse("revisions_editor:publish-retry", args=[job.pk])
    assert "the listener broke" in page and f'action="{retry}"' in page
    assert "every 1s" not in page
    response = editor.post(retry)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state in ("queued", "done")  # queued on commit; tasks may run in-process
    # Retrying a job that is not failed is a conflict.
    PublishJob.objects.filter(pk=job.pk).update(state="done")
    assert editor.post(retry).status_code == 409
    assert editor.get(reverse("revisions_editor:publish-job", args=[999999])).status_code == 404


# --- The command -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_publishes_and_prints_progress(capsys):
    draft = make_draft()
    call_command("publish_version", "--spec", SPEC, "--label", draft.label)
    out = capsys.readouterr().out
    assert "lineage: 0 of 1" in out and "lineage: 1 of 1" in out
    assert f"published {SPEC} {draft.label}" in out and "added" in out
    draft.refresh_from_db()
    assert draft.state == "published"
    job = PublishJob.objects.get(version=draft)
    assert job.state == "done" and job.started_by is None


@pytest.mark.django_db
def test_the_command_refuses_clearly():
    with pytest.raises(CommandError, match="no version 2098-01-01"):
        call_command("publish_version", "--spec", SPEC, "--label", "2098-01-01")
    with pytest.raises(CommandError, match="already published"):
        call_command("publish_version", "--spec", SPEC, "--label", CURRENT)
    draft = make_draft()
    with pytest.raises(CommandError, match="no user named"):
        call_command("publish_version", "--spec", SPEC, "--label", draft.label, "--actor", "ghost")
