"""/healthz tells a load balancer whether this process can serve: database and broker."""

import socket

import pytest
from django.conf import settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_healthy_when_database_and_broker_answer(client):
    assert settings.CELERY_BROKER_URL.startswith("redis://"), (
        "run the tests with CELERY_BROKER_URL pointing at the Redis that `make test` starts"
    )
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_unavailable_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://:s3cret@127.0.0.1:{_closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["broker"] not in ("ok", "in-process")
    # The error names its kind, never the URL or its password.
    assert "s3cret" not in response.content.decode()
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_only_get(client):
    assert client.post("/healthz").status_code == 405
