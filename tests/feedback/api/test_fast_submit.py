"""The one-call write path (feedback.fast_submit) stores exactly what the full path stores, and
hands every case it does not cover to the full path, which answers it as before."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback import fast_submit
from feedback.models import FeedbackItem, IdempotencyRecord
from feedback.services import Quote, Submission, feedback_submit
from modelspec_site.audit.models import Event
from modelspec_site.audit.verify import audit_verify

from .conftest import CLAUSE, PASSAGE, post_json, valid_payload

COMPARED_FIELDS = [
    f.attname
    for f in FeedbackItem._meta.concrete_fields
    if f.attname
    not in {"id", "tracking_number", "created_at", "updated_at", "follow_token_hash", "search"}
]


@pytest.fixture(autouse=True)
def _fresh_cache():
    fast_submit.cache_clear()
    yield
    fast_submit.cache_clear()


def _key() -> dict:
    return {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}


def _event_of(number: str) -> Event:
    return Event.objects.get(action="feedback.submitted", data__tracking_number=number)


def _without_number(event: Event, number: str, item_id: int) -> dict:
    subjects = [
        {**s, "id": "ITEM"}
        if s["type"] == "feedback.feedbackitem" and s["id"] == str(item_id)
        else s
        for s in event.subjects
    ]
    text = str(
        [
            event.actor_kind,
            event.actor_label,
            event.actor_id,
            event.action,
            event.visibility,
            subjects,
            event.data,
        ]
    )
    return text.replace(number, "NUMBER")


@pytest.mark.django_db
def test_a_warm_anonymous_submission_is_one_statement(anonymous):
    assert post_json(anonymous, valid_payload(), **_key()).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = post_json(anonymous, valid_payload(summary="Second"), **_key())
    assert response.status_code == 201
    assert len(queries) == 1
    assert "feedback_submit_public" in queries[0]["sql"]
    # Prepared once on this connection and reused; Django's own statements are never prepared.
    post_json(anonymous, valid_payload(summary="Third"), **_key())
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert len(prepared) == 1 and "feedback_submit_public" in prepared[0]


@pytest.mark.django_db
def test_both_paths_store_the_same_item_and_event(anonymous, version):
    fields = {
        "kind": "disagree",
        "summary": "  Later is not always better  ",
        "body": "Body *text*",
        "suggested_text": "Suggested",
        "example_conversation": [{"role": "user", "content": "Hi"}],
        "severity": "high",
        "affiliation": "Lab",
        "conflict_of_interest": "None",
        "submitter_name": "Ana",
    }
    quote = {"exact": PASSAGE}
    response = post_json(anonymous, valid_payload(**fields, quote=quote), **_key())
    assert response.status_code == 201
    fast_number = response.json()["tracking_number"]
    full = feedback_submit(
        acting_user=AnonymousUser(),
        submission=Submission(
            version=version,
            clause_id=CLAUSE,
            quote=Quote(exact=PASSAGE),
            # as the API's serializer hands it to the service
            **(
                fields
                | {"example_conversation": [{"role": "user", "content": "Hi", "label": None}]}
            ),
        ),
    ).item

    fast = FeedbackItem.objects.get(tracking_number=fast_number)
    full.refresh_from_db()
    assert {f: getattr(fast, f) for f in COMPARED_FIELDS} == {
        f: getattr(full, f) for f in COMPARED_FIELDS
    }
    assert fast.position_start is not None and fast.summary == "Later is not always better"
    assert fast.search is not None and fast.created_at <= timezone.now()
    assert _without_number(_event_of(fast_number), fast_number, fast.pk) == _without_number(
        _event_of(full.tracking_number), full.tracking_number, full.pk
    )
    result = audit_verify()
    assert result.ok, result.reason


@pytest.mark.django_db
def test_the_response_and_its_replay_are_identical(anonymous):
    key = _key()
    first = post_json(anonymous, valid_payload(), **key)
    again = post_json(anonymous, valid_payload(), **key)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    body = first.json()
    assert body["url"].endswith(f"/api/v1/feedback/{body['tracking_number']}/")
    assert body["html_url"].endswith(f"/feedback/{body['tracking_number']}/")
    assert body["created_at"].endswith("Z") and body["state"] == "received"
    record = IdempotencyRecord.objects.get()
    assert record.response["body"]["follow_token"] != body["follow_token"]  # sealed
    assert FeedbackItem.objects.filter(tracking_number=body["tracking_number"]).count() == 1


@pytest.mark.django_db
def test_a_key_reused_for_another_body_is_refused(anonymous):
    key = _key()
    assert post_json(anonymous, valid_payload(), **key).status_code == 201
    response = post_json(anonymous, valid_payload(summary="Different"), **key)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert FeedbackItem.objects.count() == 1


@pytest.mark.django_db
def test_a_period_closed_after_the_version_was_remembered_is_still_refused(anonymous, version):
    assert post_json(anonymous, valid_payload(), **_key()).status_code == 201
    version.comment_closes_at = timezone.now() - timedelta(minutes=1)
    version.save(update_fields=["comment_closes_at"])
    before = FeedbackItem.objects.count()
    response = post_json(anonymous, valid_payload(summary="Too late"), **_key())
    assert response.status_code == 403
    assert response.json()["code"] == "comment_period_closed"
    assert FeedbackItem.objects.count() == before


@pytest.mark.django_db
def test_a_quote_not_in_the_clause_gets_the_full_answer(anonymous):
    response = post_json(anonymous, valid_payload(quote={"exact": "words that are not there"}))
    assert response.status_code == 400
    assert response.json()["code"] == "quote_mismatch"
    assert FeedbackItem.objects.count() == 0


@pytest.mark.django_db
def test_unknown_clause_is_refused_even_once_remembered(anonymous):
    for _ in range(2):  # the second time the miss comes from the process cache
        response = post_json(anonymous, valid_payload(clause="no_such_clause"))
        assert response.status_code == 400
        assert response.json()["code"] == "unknown_target"
    assert FeedbackItem.objects.count() == 0


@pytest.mark.django_db
def test_submissions_with_an_email_take_the_full_path_and_get_a_receipt(anonymous):
    from modelspec_site.outbox.models import OutboxMessage

    response = post_json(anonymous, valid_payload(submitter_email="who@example.org"), **_key())
    assert response.status_code == 201
    assert OutboxMessage.objects.filter(recipient="who@example.org").count() == 1


@pytest.mark.django_db
def test_non_ascii_text_keeps_the_chain_verifiable(anonymous):
    summary = 'Ça « dépend » — ✓ 🙂 "quoted" \\ back\\slash'
    response = post_json(anonymous, valid_payload(summary=summary), **_key())
    assert response.status_code == 201
    number = response.json()["tracking_number"]
    event = _event_of(number)
    assert event.subjects[0]["label"] == f"{number}: {summary}"
    result = audit_verify()
    assert result.ok, result.reason


def test_with_a_key_a_dead_connection_is_replaced_without_a_health_check(
    anonymous, committed_version
):
    """With an Idempotency-Key the call stands in for Django's `SELECT 1` health check: a
    connection that died since the last request is closed and the call made on a new one."""
    from django.db import connections

    assert post_json(anonymous, valid_payload(), **_key()).status_code == 201
    doomed = connection.connection.info.backend_pid
    with connections["default"].cursor():
        pass
    killer = connection.connection.__class__.connect(
        **{**connection.get_connection_params(), "autocommit": True}
    )
    try:
        killer.execute("SELECT pg_terminate_backend(%s)", [doomed])
    finally:
        killer.close()
    # The call meets the dead connection itself (tests run without Django's health check, so
    # without the retry this request would fail): it is closed and the call made once more.
    response = post_json(anonymous, valid_payload(summary="After the drop"), **_key())
    assert response.status_code == 201
    assert connection.connection.info.backend_pid != doomed
    assert FeedbackItem.objects.filter(summary="After the drop").count() == 1
    assert audit_verify().ok
