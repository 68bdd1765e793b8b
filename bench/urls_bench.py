"""The site's URLs plus the baselines the benchmarks compare with, behind the same middleware
stack as the real pages:

- `/bench/trivial/`: a view that does no work (`reader.py`, `submit.py`);
- `/bench/insert/`: a minimal durable write (`submit.py`): a POST that runs three raw INSERTs in
  one transaction into `bench_insert`, a table that only `submit.py` creates. It is exempt from
  CSRF like the API's anonymous POSTs, and reads and validates nothing."""

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from modelspec_site.urls import (  # noqa: F401 - the error handlers are looked up here
    handler400,
    handler403,
    handler404,
    handler500,
)
from modelspec_site.urls import urlpatterns as site_urlpatterns

INSERT_SQL = "INSERT INTO bench_insert (kind, key, payload) VALUES (%s, %s, %s)"


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


@csrf_exempt
@require_POST
def insert(request: HttpRequest) -> HttpResponse:
    """Three INSERTs (standing in for an item, a ledger event and an outbox row) and one
    commit, which waits for the WAL flush unless the server was told not to."""
    key = request.headers.get("Idempotency-Key", "")
    payload = request.body.decode("utf-8", "replace")
    with transaction.atomic(), connection.cursor() as cursor:
        for kind in ("item", "event", "outbox"):
            cursor.execute(INSERT_SQL, [kind, key, payload])
    return JsonResponse({"ok": True}, status=201)


urlpatterns = [
    path("bench/trivial/", trivial, name="bench-trivial"),
    path("bench/insert/", insert, name="bench-insert"),
    *site_urlpatterns,
]
