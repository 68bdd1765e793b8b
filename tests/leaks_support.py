"""Machinery for the canary crawl (tests/test_leaks.py): walk the URLconf, fill every route
with real values, fetch each URL as one client and look for secret strings in everything that
comes back (body, every header, cookies, a redirect's Location).

Kept apart from the test module so the crawl itself stays readable there: what is secret, which
routes exist and which values fill them."""

from __future__ import annotations

import gzip
import html
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlsplit

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

# --- The URLconf ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Way:
    """How to exercise one route with GET: `html` routes are fetched plainly and as an htmx
    request; `api` routes plainly (and their bare URL with `?format=json` too); `queries`
    gives the query strings to try."""

    kind: str = "html"
    queries: object = ("",)  # a tuple of query strings, or World -> list of them
    gzip: bool = False  # also with Accept-Encoding: gzip (the kept reader pages)
    last: bool = False  # fetched after the rest (logout)


@dataclass(frozen=True)
class Route:
    """One URL pattern of the site: `pattern` is its full text as Django joins it (the
    `ResolverMatch.route` of any URL it matches), e.g. `feedback/<feedback_tracking:...>/`."""

    pattern: str
    name: str


def site_routes() -> list[Route]:
    """Every URL pattern of the site, recursively through includes."""

    def walk(patterns: Iterable, prefix: str, namespace: str) -> Iterable[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                yield Route(prefix + str(entry.pattern), namespace + (entry.name or ""))

    return list(walk(get_resolver().url_patterns, "", ""))


_CONVERTER = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")
_GROUP_START = re.compile(r"\(\?P<(?P<name>\w+)>")


def _replace_groups(regex: str, values: Mapping[str, str]) -> str:
    """`(?P<name>...)` groups (balanced parentheses) replaced by their value."""
    out, i = [], 0
    while (match := _GROUP_START.search(regex, i)) is not None:
        out.append(regex[i : match.start()])
        depth, j = 1, match.end()
        while depth:
            if regex[j] == "\\":
                j += 2
                continue
            depth += {"(": 1, ")": -1}.get(regex[j], 0)
            j += 1
        out.append(values[match.group("name")])
        i = j
    out.append(regex[i:])
    return "".join(out)


def route_params(pattern: str) -> list[str]:
    """The names of the values a pattern needs, in order."""
    names = [m.group("name") for m in _CONVERTER.finditer(pattern)]
    names += [m.group("name") for m in _GROUP_START.finditer(pattern)]
    return names


def route_fill(pattern: str, values: Mapping[str, str]) -> str:
    """The concrete path for `pattern` with `values`; it must resolve back to `pattern`."""
    text = _replace_groups(pattern, values)
    text = _CONVERTER.sub(lambda m: values[m.group("name")], text)
    text = text.replace("^", "").replace("$", "").replace("\\", "")
    path = "/" + text
    try:
        match = resolve(path)
    except Resolver404:
        raise AssertionError(f"route {pattern!r} filled as {path!r} does not resolve") from None
    if match.route.replace("^", "") != pattern.replace("^", ""):  # Django drops inner ^s
        raise AssertionError(f"route {pattern!r} filled as {path!r} resolves to {match.route!r}")
    return path


def route_urls(
    pattern: str,
    values: Mapping[str, Sequence[str]],
    missing: Mapping[str, Sequence[str]],
    *,
    keep: Callable[[dict[str, str]], bool] = lambda combo: True,
) -> list[str]:
    """Paths for `pattern`: every combination of the real `values` of its parameters, then,
    for each parameter, each of its `missing` values with the others at their first value."""
    names = route_params(pattern)
    unfillable = [n for n in names if not values.get(n)]
    if unfillable:
        raise AssertionError(f"route {pattern!r}: no values for {unfillable}")
    combos = [
        dict(zip(names, chosen, strict=True))
        for chosen in itertools.product(*(values[n] for n in names))
    ]
    for name in names:
        for absent in missing.get(name, ()):
            combos.append({n: values[n][0] for n in names} | {name: absent})
    return list(dict.fromkeys(route_fill(pattern, c) for c in combos if keep(c)))


# --- Scanning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    url: str
    headers: tuple[tuple[str, str], ...] = ()  # (WSGI META name, value)

    def __str__(self) -> str:
        extra = "".join(f" [{k.removeprefix('HTTP_')}: {v}]" for k, v in self.headers)
        return self.url + extra


def response_bytes(response) -> bytes:
    """The body as the client would read it (joined if streamed, gunzipped if compressed)."""
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    if response.get("Content-Encoding", "") == "gzip":
        body = gzip.decompress(body)
    return body


def response_text(response, body: bytes) -> str:
    """Body, every header and every cookie, as one text to search."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    cookies = response.cookies.output() if response.cookies else ""
    return "\n".join((body.decode("utf-8", errors="replace"), headers, cookies))


class Scanner:
    """Finds secret strings in a response. Each secret is looked for case-insensitively, as
    written and after URL and HTML decoding (a leaked address may come back as `%40` or
    `&#64;`).

    A secret that is part of the requested URL itself (an internal item's tracking number in
    the path, a marker in `?q=`) is echoed legitimately (the language switcher carries the
    page's address, a search box its query): it is not counted in that one response. The
    crawl is built so such a request always has other secrets a real leak would show (an
    internal item's page shows its summary; a search that matched it shows its number)."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self.secrets = {value.lower(): what for value, what in secrets.items()}

    def hits(self, url: str, text: str) -> list[tuple[str, str]]:
        requested = unquote_plus(url).lower()
        lowered = text.lower()
        decoded = html.unescape(unquote_plus(text)).lower()
        return [
            (what, value)
            for value, what in self.secrets.items()
            if value not in requested and (value in lowered or value in decoded)
        ]


@dataclass
class Tally:
    role: str
    responses: int = 0
    bytes: int = 0
    statuses: Counter = field(default_factory=Counter)
    hits: list[str] = field(default_factory=list)
    found: set[str] = field(default_factory=set)  # what the secrets hit are
    errors: list[str] = field(default_factory=list)
    followed: int = 0  # further pages of lists, reached through their cursor links

    def figure(self) -> str:
        statuses = ", ".join(f"{s} x{n}" for s, n in sorted(self.statuses.items()))
        return (
            f"{self.role}: {self.responses} responses ({self.followed} through cursors), "
            f"{self.bytes:,} bytes scanned; status {statuses}"
        )


_CURSOR_HREF = re.compile(r"""href=["']([^"']*[?&](?:amp;)?cursor=[^"']*)["']""")


def _cursor_links(body: bytes, content_type: str) -> list[str]:
    """Links to further pages of a list: `next`/`previous` of a JSON page, or the cursor
    links of an HTML one."""
    links: list[str] = []
    if "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            return []
        if isinstance(data, dict):
            links = [data[k] for k in ("next", "previous") if isinstance(data.get(k), str)]
    elif "html" in content_type:
        links = [html.unescape(m) for m in _CURSOR_HREF.findall(body.decode("utf-8", "replace"))]
    paths = []
    for link in links:
        parts = urlsplit(link)
        if parts.netloc in ("", "testserver") and parts.path.startswith("/"):
            paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


Inspect = Callable[[Probe, object], str]  # what is wrong with a response ('' when nothing)


def fetch(
    client: Client, probe: Probe, scanner: Scanner, tally: Tally, inspect: Inspect | None = None
):
    """GET one URL, count it and scan it (and `inspect` it). Returns the response and its
    (decoded) body."""
    response = client.get(probe.url, **dict(probe.headers))
    body = response_bytes(response)
    text = response_text(response, body)
    tally.responses += 1
    tally.bytes += len(text.encode("utf-8"))
    tally.statuses[response.status_code] += 1
    for what, value in scanner.hits(probe.url, text):
        tally.hits.append(f"{tally.role} GET {probe} -> {response.status_code}: {what} ({value})")
        tally.found.add(what)
    if response.status_code >= 500:
        tally.errors.append(f"{tally.role} GET {probe} -> {response.status_code}")
    if inspect is not None and (problem := inspect(probe, response)):
        tally.errors.append(f"{tally.role} GET {probe} -> {response.status_code}: {problem}")
    return response, body


def crawl(
    client: Client,
    probes: Iterable[Probe],
    scanner: Scanner,
    *,
    role: str,
    inspect: Inspect | None = None,
    max_pages_followed: int = 80,
) -> Tally:
    """Fetch every probe, then the further pages (cursors) of the lists among them."""
    tally = Tally(role)
    queue = list(probes)
    seen = {(p.url, p.headers) for p in queue}
    while queue:
        probe = queue.pop(0)
        response, body = fetch(client, probe, scanner, tally, inspect)
        for link in _cursor_links(body, response.get("Content-Type", "")):
            nxt = Probe(link, probe.headers)
            if (nxt.url, nxt.headers) not in seen and tally.followed < max_pages_followed:
                seen.add((nxt.url, nxt.headers))
                queue.append(nxt)
                tally.followed += 1
    return tally


# --- Comparing responses ----------------------------------------------------------------------

_PER_REQUEST = re.compile(
    r"""(csrfmiddlewaretoken["']?\s+value=["']|X-CSRFToken["']?\s*:\s*["']|nonce=["']|"""
    r"""name=["']csrf-token["']\s+content=["'])[^"']*"""
)


def normalised(response, body: bytes, *, replace: Mapping[str, str] = {}) -> tuple:
    """What must be identical between two answers: the status, the content type, the header
    names and the body, with CSRF tokens and CSP nonces (different on every request) and the
    given strings (the requested identifier, echoed in the page's own address) replaced."""
    text = body.decode("utf-8", errors="replace")
    for old, new in replace.items():
        text = text.replace(old, new)
    text = _PER_REQUEST.sub(lambda m: m.group(1) + "*", text)
    location = response.get("Location", "")
    for old, new in replace.items():
        location = location.replace(old, new)
    names = sorted(n.lower() for n, _ in response.items() if n.lower() != "content-length")
    return response.status_code, response.get("Content-Type"), names, location, text
