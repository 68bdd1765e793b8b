"""Fixtures for the feedback API: a valid submission, counters of everything a submission
stores, and (for tests that commit from several threads) the bundled version loaded again."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.test import Client

from feedback.models import Endorsement, FeedbackItem, IdempotencyRecord
from feedback.services import Quote, Submission, feedback_submit
from modelspec_site.audit.models import Event
from revisions.models import ClauseText, Version
from tests.conftest import DATA

URL = "/api/v1/feedback/"
LABEL = "2025-09-12"
CLAUSE = "follow_all_applicable_instructions"
PASSAGE = "a later instruction at the same authority"


@pytest.fixture
def version(db) -> Version:
    return Version.objects.select_related("spec").get(spec__slug="model-spec", label=LABEL)


@pytest.fixture
def anonymous(db) -> Client:
    """A client of its own, so it stays anonymous when `staff_client` signs `client` in."""
    return Client()


def valid_payload(**overrides) -> dict:
    return {
        "spec": "model-spec",
        "version": LABEL,
        "clause": CLAUSE,
        "kind": "unclear",
        "summary": "What counts as a later instruction?",
        "body": "The ordering is unclear when messages arrive together.",
    } | overrides


@pytest.fixture
def payload() -> Callable[..., dict]:
    return valid_payload


def post_json(client: Client, data, **extra):
    body = data if isinstance(data, (bytes, str)) else json.dumps(data)
    return client.post(URL, body, content_type="application/json", **extra)


@pytest.fixture
def post() -> Callable:
    return post_json


@dataclass(frozen=True)
class Counts:
    items: int
    submitted_events: int
    events: int
    records: int
    endorsements: int


def counts() -> Counts:
    return Counts(
        items=FeedbackItem.objects.count(),
        submitted_events=Event.objects.filter(action="feedback.submitted").count(),
        events=Event.objects.count(),
        records=IdempotencyRecord.objects.count(),
        endorsements=Endorsement.objects.count(),
    )


@pytest.fixture
def count() -> Callable[[], Counts]:
    return counts


@pytest.fixture
def file_item(version) -> Callable[..., FeedbackItem]:
    """File an item through the service (not the API), e.g. to list it."""

    def make(*, acting_user=None, clause: str = CLAUSE, passage: bool = False, **fields):
        values = {
            "version": version,
            "clause_id": clause,
            "kind": "unclear",
            "summary": "A summary",
        } | fields
        if passage:
            text = ClauseText.objects.get(version=version, anchor=clause)
            values["quote"] = Quote(exact=PASSAGE, start=text.plain_text.index(PASSAGE))
        return feedback_submit(acting_user=acting_user, submission=Submission(**values)).item

    return make


@pytest.fixture
def committed_version(transactional_db) -> Version:
    """For tests whose threads commit: a transactional test empties every table when it ends,
    so load the published version again (idempotent when it is still there)."""
    from revisions.services import spec_ensure, version_import

    spec = spec_ensure(slug="model-spec", title="OpenAI Model Spec")
    version_import(spec=spec, label=LABEL, data=(DATA / f"{LABEL}.md").read_bytes(), publish=True)
    return Version.objects.select_related("spec").get(spec=spec, label=LABEL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A real Redis: the one `make test` started (TEST_REDIS_URL), or a private one started
    here and stopped at the end of the session."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed for the rate-limit tests against Redis"
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def redis_cache(settings, redis_url) -> None:
    """Point the default cache at Redis, under a key prefix of this test's own."""
    settings.CACHES = settings.CACHES | {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-{time.time_ns()}",
        }
    }
