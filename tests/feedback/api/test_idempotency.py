"""Idempotency-Key on POST /api/v1/feedback/: retries replay the first response and create
nothing; a key reused for another body is refused; concurrent retries make one item."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from feedback import idempotency
from feedback.models import FeedbackItem, IdempotencyRecord
from modelspec_site.outbox.models import OutboxMessage

from .conftest import valid_payload

KEY = "3f1c2a9e-6b7d-4c1e-9a52-0d7a1c3e5b11"


def _post(client, data, key=KEY, **extra):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    body = data if isinstance(data, (bytes, str)) else json.dumps(data)
    return client.post(
        "/api/v1/feedback/", body, content_type="application/json", **headers, **extra
    )


@pytest.mark.django_db
def test_a_retry_replays_the_first_response_and_creates_nothing(anonymous, count):
    before = count()
    first = _post(anonymous, valid_payload())
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    after_first = count()
    assert (after_first.items, after_first.submitted_events, after_first.records) == (
        before.items + 1,
        before.submitted_events + 1,
        before.records + 1,
    )

    retry = _post(anonymous, valid_payload())
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()  # the follow token included
    assert retry["Cache-Control"] == "no-store"
    assert retry["Location"] == first["Location"]
    assert count() == after_first


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused(anonymous, count):
    _post(anonymous, valid_payload())
    before = count()
    response = _post(anonymous, valid_payload(summary="Something else"))
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert count() == before


@pytest.mark.django_db
def test_keys_are_scoped_per_client(anonymous, client, make_user, count):
    first = _post(anonymous, valid_payload())
    client.force_login(make_user("commenter"))
    other = _post(client, valid_payload())
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert other.json()["tracking_number"] != first.json()["tracking_number"]
    # Another address is another anonymous client.
    elsewhere = _post(Client(REMOTE_ADDR="192.0.2.7"), valid_payload())
    assert elsewhere.status_code == 201
    assert "Idempotent-Replayed" not in elsewhere
    assert FeedbackItem.objects.filter(summary=valid_payload()["summary"]).count() == 3


@pytest.mark.django_db
def test_without_a_key_every_post_files_an_item(anonymous, count):
    before = count()
    _post(anonymous, valid_payload(), key=None)
    _post(anonymous, valid_payload(), key=None)
    assert count().items == before.items + 2
    assert count().records == before.records


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 201, "naïve-key", "tab\there", "new\nline"], ids=repr)
def test_bad_keys_are_refused(anonymous, count, key):
    before = count()
    response = anonymous.post(
        "/api/v1/feedback/",
        json.dumps(valid_payload()),
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert count() == before


@pytest.mark.django_db
def test_a_key_of_200_printable_characters_is_fine(anonymous):
    assert _post(anonymous, valid_payload(), key="~" * 200).status_code == 201


@pytest.mark.django_db
def test_a_failed_request_is_not_remembered(anonymous, count):
    before = count()
    refused = _post(anonymous, valid_payload(clause="no_such_clause"))
    assert refused.status_code == 400
    assert count() == before
    # Fixed and sent again with the same key: it runs.
    fixed = _post(anonymous, valid_payload())
    assert fixed.status_code == 201
    assert count().records == before.records + 1


@pytest.mark.django_db
def test_neither_the_key_nor_the_follow_token_is_stored_in_clear(anonymous):
    receipt = _post(anonymous, valid_payload()).json()
    record = IdempotencyRecord.objects.get()
    stored = json.dumps(record.response) + record.key + record.scope
    assert KEY not in stored
    assert receipt["follow_token"] not in stored
    assert record.response["body"]["tracking_number"] == receipt["tracking_number"]


@pytest.mark.django_db
def test_replays_are_not_throttled(anonymous, settings):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "1/hour"}
    assert _post(anonymous, valid_payload()).status_code == 201
    for _ in range(3):
        assert _post(anonymous, valid_payload()).status_code == 201
    assert _post(anonymous, valid_payload(), key="another").status_code == 429


def _age_records(by):
    for record in IdempotencyRecord.objects.all():
        IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=record.created_at - by)


@pytest.mark.django_db
def test_an_expired_record_lets_the_key_be_used_again(anonymous):
    first = _post(anonymous, valid_payload())
    _age_records(idempotency.TTL)
    again = _post(anonymous, valid_payload(summary="A new submission, a day later"))
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert again.json()["tracking_number"] != first.json()["tracking_number"]
    assert IdempotencyRecord.objects.count() == 1  # the expired record was replaced


@pytest.mark.django_db
def test_purge_deletes_only_expired_records(anonymous):
    _post(anonymous, valid_payload(), key="old")
    _age_records(idempotency.TTL)
    _post(anonymous, valid_payload(), key="new")
    assert idempotency.idempotency_purge() == 1
    assert _post(anonymous, valid_payload(), key="new")["Idempotent-Replayed"] == "true"


def test_sealing_round_trips_and_needs_the_key():
    sealed = idempotency.seal("client:abc", KEY, "token-value-43-characters-long-abcdefghijk")
    assert "token-value" not in sealed
    assert idempotency._unseal("client:abc", KEY, sealed) == (
        "token-value-43-characters-long-abcdefghijk"
    )
    assert idempotency._unseal("client:abc", "another key", sealed) is None
    assert idempotency._unseal("client:xyz", KEY, sealed) is None
    assert idempotency._unseal("client:abc", KEY, "!!not base64!!") is None


THREADS = 50
TIMEOUT = 120


@pytest.mark.parametrize("email", ["", "receipt@example.org"], ids=["one-call path", "orm path"])
def test_concurrent_retries_with_one_key_make_one_item(committed_version, count, settings, email):
    """50 threads post the same key and body at once (RELIABILITY.md): exactly one item, one
    ledger event, one outbox row when a receipt is due, and 50 identical responses (the
    leader's, and 49 replays of it). Without an e-mail the one-call path answers; with one,
    the ORM path (it queues the receipt)."""
    # Above the default 10 a minute: which request takes the key first is a race, and one over
    # the limit that finds nothing stored yet is rightly refused (test_replays_are_not_throttled).
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "1000/minute"}
    before = count()
    outbox_before = OutboxMessage.objects.count()
    start = threading.Barrier(THREADS, timeout=TIMEOUT)
    results: list = []
    errors: list[BaseException] = []
    body = json.dumps(valid_payload(submitter_email=email) if email else valid_payload())

    def send() -> None:
        try:
            client = Client()
            start.wait()
            response = _post(client, body)
            results.append(
                (response.status_code, response.json(), response.get("Idempotent-Replayed"))
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert len(results) == THREADS
    assert {status for status, _, _ in results} == {201}
    bodies = {json.dumps(body, sort_keys=True) for _, body, _ in results}
    assert len(bodies) == 1
    assert sorted(flag or "" for _, _, flag in results) == [""] + ["true"] * (THREADS - 1)
    after = count()
    assert after.items == before.items + 1
    assert after.submitted_events == before.submitted_events + 1
    assert after.records == before.records + 1
    assert OutboxMessage.objects.count() == outbox_before + (1 if email else 0)
