"""Fixtures for the outbox tests: a feedback submission to trigger receipts, and a stand-in for
the delivery task that records what would have been queued."""

import pytest
from django.db import transaction

from feedback.services import Submission
from modelspec_site.audit.services import audit_record
from modelspec_site.outbox import services
from revisions.models import ClauseText, Version
from tests.conftest import BUNDLED, DATA


def bundled_ensure() -> Version:
    """The spec's current version, importing the bundled ones first if a transactional test
    emptied the tables (importing is idempotent)."""
    from revisions.services import spec_ensure, version_import

    current = Version.objects.filter(spec__slug="model-spec", state=Version.State.PUBLISHED).first()
    if current is None:
        spec = spec_ensure(slug="model-spec", title="OpenAI Model Spec")
        for label in BUNDLED:
            version_import(
                spec=spec, label=label, data=(DATA / f"{label}.md").read_bytes(), publish=True
            )
        current = Version.objects.get(spec=spec, state=Version.State.PUBLISHED)
    return current


@pytest.fixture
def make_submission():
    """Build a Submission against the current version's first clause."""

    def build(**overrides) -> Submission:
        version = bundled_ensure()
        clause = ClauseText.objects.filter(version=version).order_by("position", "pk").first()
        fields = {
            "version": version,
            "clause_id": clause.anchor,
            "kind": "unclear",
            "summary": "The clause is unclear about refusals",
            "body": "Details.",
        }
        return Submission(**(fields | overrides))

    return build


@pytest.fixture
def event():
    """A committed-with-the-test ledger event to attach messages to."""
    with transaction.atomic():
        return audit_record(actor="system", action="test.happened")


class QueuedTasks(list):
    """Message ids whose delivery was queued; `fail` makes the broker refuse the next ones."""

    fail: Exception | None = None


@pytest.fixture
def queued(monkeypatch) -> QueuedTasks:
    """Replace the delivery task's publishing with a recorder, so unit tests neither need a
    broker nor leave tasks in it for a later worker."""
    calls = QueuedTasks()

    class FakeTask:
        @staticmethod
        def apply_async(args, **options):
            if calls.fail is not None:
                raise calls.fail
            assert options["retry_policy"] == services.PUBLISH_RETRY_POLICY
            calls.append(args[0])

    monkeypatch.setattr("modelspec_site.outbox.tasks.deliver_message", FakeTask)
    return calls
