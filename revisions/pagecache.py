"""Whole reader pages for anonymous visitors, kept as ready bytes.

A signed-out visitor's reader page is the same for everyone except its CSRF token and its CSP
nonce, so the page is stored once (per spec, version, language and generation) as bytes cut at
those two places, and a request only joins the pieces with its own token and nonce. That keeps
the full Model Spec near the cost of a trivial page.

Correctness rests on the generation: every change that can alter what an anonymous reader sees
(importing or publishing a version, public feedback arriving or being moderated) calls `bump()`,
which takes effect when its transaction commits. Generations live in the default cache (Redis
in production, so all processes agree); entries also expire after `MAX_AGE` seconds as a
safety net. If the cache is unreachable, pages are simply rendered as usual."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.middleware.csrf import get_token

from . import gzipjoin

logger = logging.getLogger(__name__)

GENERATION_KEY = "reader-pages:generation"
MAX_AGE = 60.0
MAX_PAGES = 32
SLOT_CSRF = "\x00csrf\x00"
SLOT_NONCE = "\x00nonce\x00"
_SLOTS = re.compile("(\x00csrf\x00|\x00nonce\x00)")

_pages: OrderedDict[tuple, Page] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Shell:
    """A small piece of page cut at its per-request slots."""

    parts: tuple[bytes, ...]
    slots: tuple[str, ...]  # which slot follows each part but the last

    @classmethod
    def of(cls, html: bytes, *, csrf: str, nonce: str) -> Shell:
        text = html.decode("utf-8")
        if csrf:
            text = text.replace(csrf, SLOT_CSRF)
        if nonce:
            text = text.replace(nonce, SLOT_NONCE)
        pieces = _SLOTS.split(text)
        return cls(tuple(p.encode("utf-8") for p in pieces[0::2]), tuple(pieces[1::2]))

    def render(self, values: dict[str, bytes]) -> bytes:
        out = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            out.append(values[slot])
            out.append(part)
        return b"".join(out)


@dataclass(frozen=True)
class Page:
    """Head and tail with slots (small), and the body (large, also kept gzipped)."""

    head: Shell
    body: bytes
    body_gzip: gzipjoin.Middle
    tail: Shell
    created: float

    def render(self, *, csrf: str, nonce: str, gzip: bool = False) -> bytes:
        values = {SLOT_CSRF: csrf.encode("ascii"), SLOT_NONCE: nonce.encode("ascii")}
        head, tail = self.head.render(values), self.tail.render(values)
        if gzip:
            return gzipjoin.gzip_join(head, self.body_gzip, tail)
        return b"".join((head, self.body, tail))


def eligible(request: HttpRequest) -> bool:
    """A plain GET from someone with no session and no pending messages."""
    return (
        request.method in ("GET", "HEAD")
        and not request.GET
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and not getattr(request, "htmx", False)
    )


def generation() -> int | None:
    try:
        return int(cache.get(GENERATION_KEY) or 0)
    except Exception:  # an unreachable cache must not break reading: render as usual
        logger.warning("reader page cache: generation unavailable", exc_info=True)
        return None


def bump() -> None:
    """Invalidate every cached page once the current transaction commits."""

    def _bump() -> None:
        try:
            try:
                cache.incr(GENERATION_KEY)
            except ValueError:  # not there yet (or evicted): start it, unless another did
                if not cache.add(GENERATION_KEY, 1, timeout=None):
                    cache.incr(GENERATION_KEY)
        except Exception:
            logger.warning("reader page cache: could not bump the generation", exc_info=True)

    if not transaction.get_connection().in_atomic_block:
        _bump()  # nothing to wait for (on_commit would run it now, at more cost)
    else:
        transaction.on_commit(_bump)


def get(key: tuple) -> Page | None:
    with _lock:
        page = _pages.get(key)
        if page is None:
            return None
        if time.monotonic() - page.created > MAX_AGE:
            del _pages[key]
            return None
        _pages.move_to_end(key)
        return page


def put(key: tuple, page: Page) -> None:
    with _lock:
        _pages[key] = page
        while len(_pages) > MAX_PAGES:
            _pages.popitem(last=False)


def clear() -> None:
    with _lock:
        _pages.clear()


def build(*, head: bytes, body: bytes, tail: bytes, csrf: str, nonce: str) -> Page:
    """Keep a page rendered with this request's token and nonce, cut where they appear (only
    the head and tail carry them; the body is the same for every visitor)."""
    return Page(
        head=Shell.of(head, csrf=csrf, nonce=nonce),
        body=body,
        body_gzip=gzipjoin.Middle.of(body),
        tail=Shell.of(tail, csrf=csrf, nonce=nonce),
        created=time.monotonic(),
    )


def request_values(request: HttpRequest) -> tuple[str, str]:
    """This request's CSRF token (sets the cookie as usual) and CSP nonce."""
    from django.middleware.csp import get_nonce

    nonce = get_nonce(request)
    return get_token(request), "" if nonce is None else str(nonce)
