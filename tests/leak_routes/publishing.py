"""Publishing, the changes page and the disposition report, for the canary crawl: the publish
button and the job pages are staff-only (sign-in for the public); a failed job's error carries
a marker; the changes and disposition pages of the draft are 404s, and those of published
versions list only public items (the world's internal and hidden items are counted, never
named)."""

from __future__ import annotations

from revisions.models import PublishJob, Version
from tests.leaks_support import Way

ROUTES = {
    "staff/drafts/<int:pk>/publish/": Way(),  # POST only: 405
    "staff/publish/<int:job_id>/": Way(),
    "staff/publish/<int:job_id>/retry/": Way(),  # POST only: 405
    "specs/<slug:spec>/versions/<str:label>/changes/": Way(),
    "specs/<slug:spec>/versions/<str:label>/disposition/": Way(queries=("", "?page=2")),
    "specs/<slug:spec>/versions/<str:label>/disposition.csv": Way(),
    "specs/<slug:spec>/versions/<str:label>/disposition.json": Way(),
    "api/v1/specs/<slug:spec>/versions/<str:label>/disposition/": Way(kind="api"),
}


def plant(w, *, make_user) -> None:
    draft = Version.objects.get(label=w.draft_label)
    PublishJob.objects.create(
        version=draft,
        state=PublishJob.State.FAILED,
        step=w.mark("publish job step"),
        error=w.mark("publish job error"),
        attempts=1,
    )


def values(w) -> dict[str, list[str]]:
    draft = Version.objects.get(label=w.draft_label)
    job = PublishJob.objects.filter(version=draft).order_by("-pk").first()
    return {"pk": [str(draft.pk)], "job_id": [str(job.pk)] if job else []}


def missing(w) -> dict[str, list[str]]:
    last = PublishJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return {"job_id": [str(last + 1000)]}
