"""Atomic rate limits on feedback writes (RELIABILITY.md, "Flooding and spam").

Fixed windows counted in the Django cache with add-then-incr. Both operations are atomic in
Redis (the cache of `make run` and production) and under LocMemCache's lock, so N concurrent
requests against a limit of L let exactly L through. DRF's own throttles read a history list,
compare and write it back: two requests racing both pass, so they are not used here.

Limits come from `settings.FEEDBACK_RATE_LIMITS`, merged over `DEFAULT_RATE_LIMITS`:

    FEEDBACK_RATE_LIMITS = {"anonymous": "10/minute,100/day", "user": "30/minute"}

Each value is a comma-separated list of `count/period` (period: second, minute, hour, day, or
s/m/h/d); an empty value means no limit. Anonymous clients are counted per client address (an
IPv6 client per /64, which one household usually holds); accounts per user.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest

from modelspec_site.accounts.roles import is_staff_member

logger = logging.getLogger(__name__)

DEFAULT_RATE_LIMITS: dict[str, str] = {
    "anonymous": "10/minute,100/day",
    "user": "30/minute,500/day",
    "staff": "120/minute",
}
PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
CACHE_ALIAS = "default"
KEY_PREFIX = "feedback:rate"


@dataclass(frozen=True)
class Rate:
    count: int
    period: int  # seconds


def clock() -> float:
    """Seconds since the epoch (a seam for tests that must not straddle two windows)."""
    return time.time()


class RateLimited(Exception):
    """Too many writes; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests; retry after {retry_after} s.")
        self.retry_after = retry_after


def rates_parse(text: str | None) -> tuple[Rate, ...]:
    """`"10/minute,100/day"` -> (Rate(10, 60), Rate(100, 86400)), shortest period first."""
    rates = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        count, _, period = part.partition("/")
        if period.strip().lower() not in PERIODS or not count.strip().isdigit():
            raise ValueError(f"bad rate {part!r}: write it as count/period, e.g. 10/minute")
        rates.append(Rate(int(count), PERIODS[period.strip().lower()]))
    return tuple(sorted(rates, key=lambda rate: rate.period))


_parsed: tuple[tuple, dict[str, tuple[Rate, ...]]] | None = None


def rate_limits() -> dict[str, tuple[Rate, ...]]:
    """The configured limits, parsed (once for as long as the setting stays the same)."""
    global _parsed
    configured = getattr(settings, "FEEDBACK_RATE_LIMITS", None) or {}
    key = tuple(sorted(configured.items()))
    parsed = _parsed
    if parsed is None or parsed[0] != key:
        merged = DEFAULT_RATE_LIMITS | dict(configured)
        parsed = _parsed = (key, {name: rates_parse(v) for name, v in merged.items()})
    return parsed[1]


def _num_proxies() -> int:
    return int((getattr(settings, "REST_FRAMEWORK", None) or {}).get("NUM_PROXIES") or 0)


def client_address(request: HttpRequest) -> str:
    """The client's IP address. X-Forwarded-For is read only when REST_FRAMEWORK["NUM_PROXIES"]
    says that many trusted proxies append to it; the entry the outermost trusted proxy added
    is the client. Anything unparsable falls back to the socket's peer."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = _num_proxies()
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            candidate = hops[-min(proxies, len(hops))]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote


def client_key(request: HttpRequest) -> str:
    """A stable pseudonym for the client address (keyed hash: the address itself is never
    stored in the cache or the database). IPv6 addresses are reduced to their /64."""
    known = getattr(request, "_feedback_client_key", None)  # once per request
    if known is not None:
        return known
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address)
        if ip.version == 6 and ip.ipv4_mapped is None:
            address = str(ipaddress.ip_network(f"{ip}/64", strict=False))
        elif ip.version == 6:
            address = str(ip.ipv4_mapped)
    except ValueError:
        pass
    digest = hmac.digest(
        settings.SECRET_KEY.encode(), f"feedback.client:{address}".encode(), "sha256"
    )
    request._feedback_client_key = key = digest.hex()[:40]
    return key


def writer_bucket(request: HttpRequest) -> tuple[str, str]:
    """(limit name, who) for the sender of `request`."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return ("staff" if is_staff_member(user) else "user"), f"user:{user.pk}"
    return "anonymous", f"client:{client_key(request)}"


def rate_limit_check(*, bucket: str, rates: tuple[Rate, ...], now: float | None = None) -> None:
    """Count one write against every window of `rates`; raise RateLimited when one is full.

    Windows are checked shortest first and counting stops at the first full one, so requests
    refused by the per-minute limit do not use up the daily allowance. If the cache is down the
    write is let through (and logged): feedback must still be accepted when Redis is not."""
    cache = caches[CACHE_ALIAS]
    now = clock() if now is None else now

    def key_and_end(rate: Rate) -> tuple[str, float]:
        window = int(now // rate.period)
        return f"{KEY_PREFIX}:{bucket}:{rate.period}:{window}", (window + 1) * rate.period

    for index, rate in enumerate(rates):
        key, window_end = key_and_end(rate)
        try:
            cache.add(key, 0, timeout=rate.period + 60)
            try:
                used = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 0, timeout=rate.period + 60)
                used = cache.incr(key)
            if used <= rate.count:
                continue
            # Refused. If a longer window is full as well, the wait is until that one ends.
            for longer in rates[index + 1 :]:
                longer_key, longer_end = key_and_end(longer)
                if (cache.get(longer_key) or 0) >= longer.count:
                    window_end = max(window_end, longer_end)
        except Exception:  # the cache is unreachable: fail open, loudly
            logger.exception("rate limit cache unavailable; letting the request through")
            return
        raise RateLimited(max(1, math.ceil(window_end - now)))


def throttle_write(request: HttpRequest, *, action: str = "write") -> None:
    """Count one write by the sender of `request`; raise RateLimited when over the limit.
    `action` keeps separate budgets when a caller wants them (all feedback writes share one)."""
    name, who = writer_bucket(request)
    rates = rate_limits().get(name, ())
    if rates:
        rate_limit_check(bucket=f"{action}:{who}", rates=rates)
