"""Writes are rate-limited atomically: per client address without an account, per user with
one; 429 with Retry-After; X-Forwarded-For is believed only behind configured proxies."""

import json
import threading

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client, RequestFactory

from feedback import throttling
from feedback.models import FeedbackItem

from .conftest import URL, valid_payload

NOW = 1_800_000_030.0  # 30 s into a minute


@pytest.fixture
def frozen_clock(monkeypatch):
    """Windows are fixed; freeze the clock so a test never straddles two of them."""
    monkeypatch.setattr(throttling, "clock", lambda: NOW)


def _post(client, data=None, **extra):
    return client.post(
        URL, json.dumps(data or valid_payload()), content_type="application/json", **extra
    )


@pytest.mark.django_db
def test_the_sixth_anonymous_post_over_a_limit_of_five_is_429(anonymous, settings, frozen_clock):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "5/minute"}
    statuses = [_post(anonymous).status_code for _ in range(5)]
    assert statuses == [201] * 5
    refused = _post(anonymous)
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert refused["Retry-After"] == "30"
    assert FeedbackItem.objects.count() == 5


@pytest.mark.django_db
def test_invalid_posts_count_too(anonymous, settings, frozen_clock):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "2/minute"}
    assert _post(anonymous, {"summary": "x"}).status_code == 400
    assert _post(anonymous, {"summary": "x"}).status_code == 400
    assert _post(anonymous).status_code == 429


@pytest.mark.django_db
def test_the_daily_limit_applies_after_the_minute_one(anonymous, settings, monkeypatch):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "2/minute,3/day"}
    clock = [NOW]
    monkeypatch.setattr(throttling, "clock", lambda: clock[0])
    assert [_post(anonymous).status_code for _ in range(3)] == [201, 201, 429]
    clock[0] += 60  # next minute: one left today
    assert [_post(anonymous).status_code for _ in range(2)] == [201, 429]
    assert int(_post(anonymous)["Retry-After"]) > 3600


@pytest.mark.django_db
def test_accounts_are_limited_per_user_not_per_address(
    anonymous, client, make_user, settings, frozen_clock
):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "1/minute", "user": "2/minute"}
    client.force_login(make_user("commenter"))
    assert _post(anonymous).status_code == 201
    assert _post(anonymous).status_code == 429
    assert [_post(client).status_code for _ in range(3)] == [201, 201, 429]
    other = Client()
    other.force_login(make_user("another"))
    assert _post(other).status_code == 201


@pytest.mark.django_db
def test_endorsing_is_a_throttled_write(anonymous, settings, frozen_clock, file_item):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "2/minute"}
    items = [file_item() for _ in range(3)]
    statuses = [
        anonymous.post(f"{URL}{item.tracking_number}/endorse/").status_code for item in items
    ]
    assert statuses == [201, 201, 429]


@pytest.mark.django_db
def test_forwarded_addresses_are_ignored_without_trusted_proxies(settings, frozen_clock):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "1/minute"}
    first = Client(REMOTE_ADDR="10.0.0.1")
    assert _post(first, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 201
    # Changing the header does not make a new client.
    assert _post(first, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429


@pytest.mark.django_db
def test_behind_one_proxy_the_forwarded_client_is_counted(settings, frozen_clock):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "1/minute"}
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"NUM_PROXIES": 1}
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    assert _post(proxy, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 201
    assert _post(proxy, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 201
    # A spoofed leftmost entry does not help: the proxy's own entry is the rightmost.
    assert _post(proxy, HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.1").status_code == 429


@pytest.mark.django_db
def test_with_redis_the_limit_holds_too(anonymous, settings, frozen_clock, redis_cache):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "2/minute"}
    assert [_post(anonymous).status_code for _ in range(3)] == [201, 201, 429]


@pytest.mark.django_db
def test_when_the_cache_is_down_writes_are_let_through(anonymous, settings, caplog):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "1/minute"}
    settings.CACHES = settings.CACHES | {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing listens
        }
    }
    assert [_post(anonymous).status_code for _ in range(2)] == [201, 201]
    assert "rate limit cache unavailable" in caplog.text


def test_client_address_reads_forwarded_for_only_behind_proxies(settings):
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2")
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"NUM_PROXIES": 0}
    assert throttling.client_address(request) == "10.0.0.1"
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"NUM_PROXIES": 1}
    assert throttling.client_address(request) == "2.2.2.2"
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"NUM_PROXIES": 2}
    assert throttling.client_address(request) == "1.1.1.1"
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"NUM_PROXIES": 5}
    assert throttling.client_address(request) == "1.1.1.1"
    junk = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert throttling.client_address(junk) == "10.0.0.1"


def test_an_ipv6_client_is_counted_per_64():
    factory = RequestFactory()
    one = factory.get("/", REMOTE_ADDR="2001:db8:1:2::1")
    same_64 = factory.get("/", REMOTE_ADDR="2001:db8:1:2:ffff::9")
    other_64 = factory.get("/", REMOTE_ADDR="2001:db8:1:3::1")
    assert throttling.client_key(one) == throttling.client_key(same_64)
    assert throttling.client_key(one) != throttling.client_key(other_64)
    assert "2001" not in throttling.client_key(one)


def test_rates_parse():
    assert throttling.rates_parse("100/day, 10/minute") == (
        throttling.Rate(10, 60),
        throttling.Rate(100, 86400),
    )
    assert throttling.rates_parse("5/s,7/h") == (throttling.Rate(5, 1), throttling.Rate(7, 3600))
    assert throttling.rates_parse("") == ()
    for bad in ("ten/minute", "10/fortnight", "10"):
        with pytest.raises(ValueError, match="count/period"):
            throttling.rates_parse(bad)


def test_settings_override_the_defaults_per_kind(settings):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "5/minute"}
    limits = throttling.rate_limits()
    assert limits["anonymous"] == (throttling.Rate(5, 60),)
    assert limits["user"] == throttling.rates_parse(throttling.DEFAULT_RATE_LIMITS["user"])


THREADS = 30
LIMIT = 5
TIMEOUT = 120


@pytest.mark.parametrize("cache", ["locmem", "redis"])
def test_concurrent_posts_against_a_limit_let_exactly_the_limit_through(
    committed_version, settings, frozen_clock, request, cache
):
    if cache == "redis":
        request.getfixturevalue("redis_cache")
        assert "Redis" in caches["default"].__class__.__name__
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": f"{LIMIT}/minute"}
    before = FeedbackItem.objects.count()
    start = threading.Barrier(THREADS, timeout=TIMEOUT)
    results: list[tuple[int, str | None]] = []
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            client = Client()
            start.wait()
            response = _post(client, valid_payload(summary=f"Concurrent {index}"))
            results.append((response.status_code, response.get("Retry-After")))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * LIMIT + [429] * (THREADS - LIMIT)
    assert all(retry == "30" for status, retry in results if status == 429)
    assert FeedbackItem.objects.count() == before + LIMIT
