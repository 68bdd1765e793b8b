"""Tests that commit: the transaction guard and concurrent appends from separate connections.

They run after the session's bundled imports, so they count from the events already there."""

import threading

import pytest
from django.db import connection, transaction

from modelspec_site.audit.models import Event
from modelspec_site.audit.services import audit_record
from modelspec_site.audit.verify import audit_verify

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
APPENDS = 50
TIMEOUT_SECONDS = 120


def test_recording_outside_a_transaction_is_refused():
    before = Event.objects.count()
    assert not transaction.get_connection().in_atomic_block
    with pytest.raises(RuntimeError, match=r"inside the transaction"):
        audit_record(actor=None, action="version.published")
    assert Event.objects.count() == before


def test_parallel_appends_form_one_contiguous_chain():
    before = Event.objects.count()
    start = threading.Barrier(THREADS, timeout=TIMEOUT_SECONDS)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            start.wait()
            for index in range(APPENDS):
                with transaction.atomic():
                    audit_record(
                        actor="system",
                        action="test.appended",
                        data={"worker": worker, "index": index},
                    )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=append, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "appends did not finish in time"
    assert errors == []

    total = before + THREADS * APPENDS
    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, total + 1))
    assert Event.objects.values("prev_hash").distinct().count() == total  # no fork
    for worker in range(THREADS):
        indexes = list(
            Event.objects.filter(action="test.appended", data__worker=worker)
            .order_by("seq")
            .values_list("data__index", flat=True)
        )
        assert indexes == list(range(APPENDS))  # each worker's appends kept their order
    result = audit_verify()
    assert (result.ok, result.count) == (True, total)
