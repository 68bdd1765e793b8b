"""Canary crawl: the public never sees internal material (DESIGN.md §1; RELIABILITY.md, "Reading
what one may not" and the test matrix row "access: canary crawl").

Unique markers go into everything the public must not see:
- internal items filed by staff: summary, details, suggested text, quoted passage and its
  context, example conversation, affiliation, conflict of interest, name, e-mail, tracking
  number, follow token (and its stored hash);
- public items: the submitter's private e-mail address, follow token and token hash, and the
  account e-mail of a signed-in submitter (their shown name is public by design: not marked);
- a public item hidden by a moderator: everything the hiding withholds (not its public reason);
- a report's reason (for moderators only); staff usernames and e-mail addresses;
- a draft version: its label, its text, a clause only it has, its changelog.

Then every URL pattern of the site is filled with real values (an unlisted or unfillable route
fails the test) and fetched with GET as anonymous and as a signed-in account without roles,
after a staff member has warmed the caches; every response, whatever its status, is scanned:
body, headers, cookies, Location. The admin, staff-only as a whole, must send both to sign-in.
A last test breaks `feedback_visible_to` (and `versions_visible_to`) and checks the same crawl
then finds the markers, so a pass means something.

Targeted checks beside the crawl: an internal item (and a draft) answers exactly like a number
(a label) never issued; the reader's and clause pages' counts are the public, not hidden items;
filters, sorts and searches on internal values are refused or change nothing; list cursors do
not count internal items."""

from __future__ import annotations

import base64
import json
import re
import sys
import uuid
import zlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.signing import b64_decode
from django.test import Client
from django.utils import timezone

from feedback import listing
from feedback import selectors as feedback_selectors
from feedback.messaging import unsubscribe_token
from feedback.models import FeedbackItem, State, Visibility
from feedback.services import (
    Quote,
    Submission,
    feedback_hide,
    feedback_report,
    feedback_submit,
    token_hash,
)
from revisions import selectors as revisions_selectors
from revisions.models import ClauseText, Example, Spec, Version
from revisions.services import version_import

from . import leak_routes
from .leaks_support import (
    Probe,
    Scanner,
    Tally,
    Way,
    crawl,
    fetch,
    normalised,
    response_bytes,
    route_urls,
    site_routes,
)

pytestmark = pytest.mark.django_db

SPEC = "model-spec"
LATEST, OLDER, OLDEST = "2025-09-12", "2025-04-11", "2025-02-12"
SHARED = "letter_and_spirit"  # an internal and a public item on the same clause
HIDDEN_ON = "assume_best_intentions"  # the hidden public item
OLD_ON = "follow_all_applicable_instructions"  # an internal item on the older version
BOGUS_TOKEN = "not-a-real-token-0123456789abcdefghijklmnop"
INTERNAL_WORDS = "Internal canary on intent"  # the words (not markers) of internal summaries
HIDDEN_WORDS = "Withheld canary"
HX = (("HTTP_HX_REQUEST", "true"),)
GZIP = (("HTTP_ACCEPT_ENCODING", "gzip"),)
ALL_ROLES = ("triager", "reviewer", "editor", "moderator", "auditor")


# --- The canaries -----------------------------------------------------------------------------


@dataclass
class World:
    secrets: dict[str, str] = field(default_factory=dict)  # secret string -> what it is
    items: dict[str, FeedbackItem] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # tracking number -> follow token
    markers: dict[str, str] = field(default_factory=dict)  # what -> marker
    never_issued: list[str] = field(default_factory=list)
    draft_label: str = ""
    draft_clause: str = ""
    example_clause: str = ""
    example_slug: str = ""
    public_passage: str = ""
    staff: list = field(default_factory=list)

    def mark(self, what: str) -> str:
        value = f"LEAK-{uuid.uuid4().hex}"
        self.secrets[value] = what
        self.markers[what] = value
        return value

    def email(self, what: str) -> str:
        value = f"leak-{uuid.uuid4().hex[:16]}@example.org"
        self.secrets[value] = what
        return value

    def number(self, name: str) -> str:
        return self.items[name].tracking_number

    @property
    def public_numbers(self) -> set[str]:
        return {i.tracking_number for i in self.items.values() if i.visibility == "public"}


def _passage(version: Version, anchor: str) -> str:
    words = ClauseText.objects.get(version=version, anchor=anchor).plain_text.split()
    return " ".join(words[4:12])


@pytest.fixture
def world(make_user) -> World:
    w = World()
    tag = uuid.uuid4().hex[:10]
    spec = Spec.objects.get(slug=SPEC)
    latest = Version.objects.select_related("spec").get(spec=spec, label=LATEST)
    older = Version.objects.select_related("spec").get(spec=spec, label=OLDER)
    insider = make_user(f"insider{tag}", roles=["triager"], is_staff=True)
    moderator = make_user(f"moderator{tag}", roles=["moderator"], is_staff=True)
    member = make_user(f"member{tag}")
    w.staff = [insider, moderator]
    for user in (insider, moderator):
        w.secrets[user.username] = "staff username"
        w.secrets[user.email] = "staff e-mail"
    w.secrets[member.email] = "a submitter's account e-mail"
    example = Example.objects.filter(version=latest).select_related("clause_text").first()
    w.example_clause, w.example_slug = example.clause_text.anchor, example.slug

    def file(name, *, user=None, version=latest, clause=SHARED, quote=None, **fields):
        submission = Submission(version=version, clause_id=clause, kind="unclear",
                                quote=Quote(exact=quote) if quote else None, **fields)  # fmt: skip
        result = feedback_submit(acting_user=user or AnonymousUser(), submission=submission)
        item = result.item
        w.items[name] = item
        w.tokens[item.tracking_number] = result.follow_token
        w.secrets[result.follow_token] = f"{name}: follow token"
        w.secrets[token_hash(result.follow_token)] = f"{name}: follow token hash"
        return item

    def withheld(name: str) -> dict:
        """Every text field the public may not read, each with its own marker."""
        return {
            "summary": f"{INTERNAL_WORDS if name.startswith('internal') else HIDDEN_WORDS} "
            + w.mark(f"{name}: summary"),
            "body": f"Details {w.mark(f'{name}: body')} end.",
            "suggested_text": w.mark(f"{name}: suggested text"),
            "example_conversation": [
                {"role": "user", "content": w.mark(f"{name}: conversation"), "label": None},
                {"role": "assistant", "content": w.mark(f"{name}: answer"), "label": "BAD"},
            ],
            "affiliation": w.mark(f"{name}: affiliation"),
            "conflict_of_interest": w.mark(f"{name}: conflict of interest"),
            "submitter_name": w.mark(f"{name}: name"),
            "submitter_email": w.email(f"{name}: e-mail"),
        }

    def mark_quote(name: str) -> None:
        """The quote must be real clause text to be accepted; the stored one then gets
        markers, so any place that shows it gives it away."""
        FeedbackItem.objects.filter(pk=w.items[name].pk).update(
            quote_exact=w.mark(f"{name}: quoted passage"),
            quote_prefix=w.mark(f"{name}: quote prefix"),
            quote_suffix=w.mark(f"{name}: quote suffix"),
        )

    w.public_passage = _passage(latest, SHARED)
    file("internal-1", user=insider, visibility=Visibility.INTERNAL,
         quote=w.public_passage, **withheld("internal-1"))  # fmt: skip
    mark_quote("internal-1")
    file("internal-2", user=insider, visibility=Visibility.INTERNAL, clause=w.example_clause,
         example_slug=w.example_slug, **withheld("internal-2"))  # fmt: skip
    file("internal-3", user=insider, visibility=Visibility.INTERNAL, version=older,
         clause=OLD_ON, **withheld("internal-3"))  # fmt: skip
    file("public-1", summary="Public canary about intent", body="Ordinary public words.",
         quote=w.public_passage, submitter_name="Ada Public",
         submitter_email=w.email("public-1: e-mail"))  # fmt: skip
    file("public-2", user=member, clause=w.example_clause, example_slug=w.example_slug,
         summary="Public canary on an example", submitter_email=w.email("public-2: e-mail"))  # fmt: skip
    file("hidden", clause=HIDDEN_ON, quote=_passage(latest, HIDDEN_ON), **withheld("hidden"))
    mark_quote("hidden")
    feedback_hide(acting_user=moderator, item=w.items["hidden"], reason="Off-topic, withdrawn")
    for name in ("internal-1", "internal-2", "internal-3"):  # public items' numbers are public
        w.secrets[w.number(name)] = f"{name}: tracking number"
    feedback_report(acting_user=AnonymousUser(), item=w.items["public-1"],
                    reason=w.mark("report reason"))  # fmt: skip
    _work_on(w, w.items["public-1"], triager=insider,
             reviewer=make_user(f"reviewer{tag}", roles=["reviewer"], is_staff=True))  # fmt: skip
    for name in list(w.items):
        w.items[name] = FeedbackItem.objects.get(pk=w.items[name].pk)

    w.draft_label = f"2099-draft-{tag}"
    w.draft_clause = f"leakclause{tag}"
    w.secrets[w.draft_label] = "draft label"
    w.secrets[w.draft_clause] = "draft-only clause id"
    source = (
        f"# Overview {{#overview}}\n\n{w.mark('draft: overview text')} A new overview.\n\n"
        f"# {w.mark('draft: heading')} {{#{w.draft_clause}}}\n\n{w.mark('draft: text')} Draft.\n"
    )
    draft = version_import(spec=spec, label=w.draft_label, data=source.encode()).version
    Version.objects.filter(pk=draft.pk).update(changelog=w.mark("draft: changelog"))

    for area in leak_routes.areas():
        if hasattr(area, "plant"):
            area.plant(w, make_user=make_user)

    year = timezone.now().year
    w.never_issued = [
        f"{spec.tracking_prefix}-{year}-99999",
        f"{spec.tracking_prefix}I-{year}-99999",
    ]
    return w


def _work_on(w: World, item: FeedbackItem, *, triager, reviewer) -> None:
    """Staff work a public item through the services: everything internal about it carries a
    marker (internal notes and a reply in their thread, a label, the assignee's name, a
    reviewer's position and rationale, a prepared but unpublished decision), beside what the
    public may see (public moves, a public reply)."""
    from feedback import transitions as work

    w.secrets[reviewer.username] = "assignee's (a reviewer's) username"
    w.secrets[reviewer.email] = "staff e-mail"
    work.feedback_transition(acting_user=triager, item=item, action="triage")
    label = work.label_create(acting_user=triager, name=w.mark("label name"))
    work.item_labels_change(acting_user=triager, item=item, add=[label])
    work.item_assign(acting_user=triager, item=item, assignee=reviewer)
    note = work.note_add(acting_user=triager, item=item,
                         body=f"{w.mark('internal note')} @{reviewer.username}")  # fmt: skip
    work.note_add(acting_user=reviewer, item=item, parent=note,
                  body=w.mark("internal note reply"))  # fmt: skip
    work.note_add(acting_user=triager, item=item, body="Thanks, we are looking.", public=True)
    work.feedback_transition(acting_user=triager, item=item, action="start_review")
    work.decision_record(acting_user=reviewer, item=item, position="decline",
                         rationale=w.mark("reviewer's rationale"))  # fmt: skip
    work.decision_prepare(acting_user=reviewer, item=item, action="decline",
                          rationale=w.mark("prepared decision rationale"))  # fmt: skip


# --- Every route, and what fills it -----------------------------------------------------------


def _pairs(w: World) -> list[tuple[str, str]]:
    """(version label, clause id) targets for the form and the similar-feedback panel."""
    return [(LATEST, SHARED), (LATEST, HIDDEN_ON), (LATEST, w.example_clause), (OLDER, OLD_ON),
            (OLDER, SHARED), (w.draft_label, "overview"), (w.draft_label, w.draft_clause)]  # fmt: skip


def _similar_queries(w: World) -> list[str]:
    texts = [INTERNAL_WORDS, HIDDEN_WORDS, "Public canary", "LEAK", w.markers["internal-1: body"],
             w.markers["hidden: body"]]  # fmt: skip
    out = [""]
    for label, clause in _pairs(w):
        base = f"?spec={SPEC}&version={label}&clause={clause}"
        out += [f"{base}&q={quote(t)}" for t in texts] + [f"{base}&summary={quote(INTERNAL_WORDS)}"]
    return out


def _form_queries(w: World) -> list[str]:
    out = ["", f"?version={LATEST}"]
    for label, clause in _pairs(w):
        out.append(f"?spec={SPEC}&version={label}&clause={clause}")
    base = f"?spec={SPEC}&version={LATEST}"
    out += [
        f"{base}&clause={w.example_clause}&example={w.example_slug}",
        f"{base}&clause={SHARED}&exact={quote(w.public_passage)}",
        f"{base}&clause={SHARED}&exact=not+in+the+text",
    ]
    return out


def _list_filters(w: World, *, api: bool) -> list[str]:
    """The feedback lists' filters, searches and sorts, on public values and on internal ones
    (which must be refused or ignored)."""
    sort = "ordering" if api else "sort"
    out = [
        "", "?q=LEAK", f"?q={quote(INTERNAL_WORDS)}", f"?q={quote(HIDDEN_WORDS)}",
        f"?q={w.markers['internal-1: body']}", f"?q={w.markers['internal-2: summary']}",
        f"?q={w.markers['hidden: body']}", f"?q={w.markers['report reason']}",
        f"?clause={SHARED}", f"?clause={HIDDEN_ON}", f"?clause={OLD_ON}",
        f"?clause={w.draft_clause}", f"?version={OLDER}", f"?version={w.draft_label}",
        f"?spec={SPEC}&version={LATEST}&clause={SHARED}", "?kind=unclear", "?kind=editorial",
        "?authority=root", "?authority=guideline", f"?{sort}=oldest",
        f"?{sort}={'most_endorsed' if api else 'endorsed'}", "?visibility=internal",
        "?visibility=public", "?hidden=true", "?report_count=1", f"?{sort}=report_count",
        f"?{sort}=visibility", f"?submitter_email={quote(w.items['public-1'].submitter_email)}",
        "?submitter_email__icontains=leak", "?cursor=garbage", "?format=json",
        *[f"?state={state}" for state in State.values],
    ]  # fmt: skip
    if api:
        out += ["?page_size=1", "?page_size=1&ordering=oldest", "?page_size=1&ordering=most_endorsed",
                "?has_passage=true", "?has_passage=false", "?page_size=1&q=canary"]  # fmt: skip
    else:
        out += [f"?sort=endorsed&clause={SHARED}", "?q=canary&sort=oldest"]
    return out


ACCOUNTS = {
    path: Way()
    for path in (
        "accounts/login/", "accounts/inactive/", "accounts/signup/", "accounts/reauthenticate/",
        "accounts/email/", "accounts/confirm-email/", "accounts/password/change/",
        "accounts/password/set/", "accounts/password/reset/", "accounts/login/code/confirm/",
        r"accounts/^confirm-email/(?P<key>[-:\w]+)/$", "accounts/password/reset/key/done/",
        r"accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        "accounts/password/reset/done/", "accounts/2fa/", "accounts/2fa/authenticate/",
        "accounts/2fa/reauthenticate/", "accounts/2fa/totp/activate/",
        "accounts/2fa/totp/deactivate/", "accounts/2fa/recovery-codes/",
        "accounts/2fa/recovery-codes/generate/", "accounts/2fa/recovery-codes/download/",
        # django-allauth 65.22 added reauthentication by e-mailed code.
        "accounts/reauthenticate/code/", "accounts/reauthenticate/code/confirm/",
    )
}  # fmt: skip

# The staff item page and its forms (each form POST only).
_WORK_FORMS = ("", "transition/", "assign/", "labels/", "notes/", "replies/", "position/",
               "prepare/", "publish/")  # fmt: skip

ROUTES: dict[str, Way] = {
    "healthz": Way(),
    "favicon.ico": Way(),
    **ACCOUNTS,
    "accounts/logout/": Way(last=True),  # GET only asks to confirm; fetched last all the same
    "i18n/setlang/": Way(queries=("", "?next=/", "?next=/feedback/")),
    "api/schema/": Way(kind="api", queries=("", "?format=yaml", "?lang=fr")),
    "api/schema/staff/": Way(kind="api", queries=("", "?format=json")),
    "api/docs/": Way(),
    "api/v1/specs/": Way(kind="api"),
    "api/v1/specs/<slug:spec>/versions/": Way(kind="api"),
    "api/v1/specs/<slug:spec>/versions/<str:label>/": Way(kind="api"),
    "api/v1/specs/<slug:spec>/versions/<str:label>/clauses/<str:clause_id>/": Way(kind="api"),
    "api/v1/specs/<slug:spec>/clauses/<str:clause_id>/history/": Way(kind="api"),
    "api/v1/feedback/": Way(kind="api", queries=lambda w: _list_filters(w, api=True)),
    "api/v1/feedback/<str:tracking_number>/": Way(kind="api"),
    "api/v1/feedback/<str:tracking_number>/endorse/": Way(kind="api"),  # POST only: 405
    # Staff only (403 for the public), POST only.
    "api/v1/feedback/<str:tracking_number>/transitions/<str:action>/": Way(kind="api"),
    "api/v1/feedback/<str:tracking_number>/decisions/": Way(kind="api"),
    "api/v1/audit/events/": Way(
        kind="api", queries=("", "?visibility=internal", "?action=feedback.reported")
    ),
    "": Way(gzip=True),
    "feedback/": Way(queries=lambda w: _list_filters(w, api=False)),
    "feedback/new/": Way(queries=_form_queries),
    "feedback/similar/": Way(queries=_similar_queries),
    "feedback/<feedback_tracking:tracking_number>/": Way(),
    "feedback/<feedback_tracking:tracking_number>/receipt/": Way(),
    "feedback/<feedback_tracking:tracking_number>/follow/<str:token>/": Way(),
    "feedback/<feedback_tracking:tracking_number>/endorse/": Way(),  # POST only: 405
    "feedback/<feedback_tracking:tracking_number>/report/": Way(),
    "feedback/<feedback_tracking:tracking_number>/answer/": Way(),  # POST only: 405
    "feedback/<feedback_tracking:tracking_number>/withdraw/": Way(),  # POST only: 405
    # Working one item (staff only: sign-in for the public); all but the page are POST only.
    **{f"staff/items/<feedback_tracking:tracking_number>/{form}": Way() for form in _WORK_FORMS},
    # Notifications: the unsubscribe link (no sign-in), follow buttons and the anonymous
    # submitter's e-mail switch (POST only: 405).
    "notifications/unsubscribe/<str:signed>/": Way(),
    "notifications/follow/": Way(),
    "notifications/unfollow/": Way(),
    "notifications/private/<feedback_tracking:tracking_number>/<str:token>/": Way(),
    "specs/<slug:spec>/": Way(),
    # The triage queue and labels (staff only: sign-in for the public).
    "staff/queue/": Way(queries=lambda w: [*_list_filters(w, api=False), "?assignee=none"]),
    "staff/queue/bulk/": Way(),  # POST only
    "staff/queue/views/": Way(),  # POST only
    "staff/queue/views/<int:view_id>/delete/": Way(),  # POST only
    "staff/labels/": Way(),
    "specs/<slug:spec>/versions/<str:label>/": Way(gzip=True),
    "specs/<slug:spec>/versions/<str:label>/source.md": Way(),
    "specs/<slug:spec>/versions/<str:label>/clauses/<str:clause_id>/": Way(),
    "specs/<slug:spec>/clauses/<str:clause_id>/": Way(),
}
# Each area of the site may list its own routes, fill values and canaries in a module of
# tests/leak_routes/ (see its __init__).
for _area in leak_routes.areas():
    ROUTES.update(_area.ROUTES)
# Routes not fetched with GET, and why. (None today: every route answers GET, if only 405.)
SKIP: dict[str, str] = {}
# Addresses no route matches: the error pages are crawled too.
UNROUTED = ["/no/such/page/", "/api/v1/no/such/", "/feedback/not-a-number/", "/static/x.js"]


def _values(w: World) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Real values for each path parameter, and values that name nothing."""
    numbers = [w.number(name) for name in w.items]
    values = {
        "spec": [SPEC],
        "label": [LATEST, OLDER, OLDEST, w.draft_label],
        "clause_id": [SHARED, w.example_clause, HIDDEN_ON, OLD_ON, "overview", w.draft_clause],
        "tracking_number": numbers,
        # Someone else's token, never the item's own (that page is the owner's, by design).
        "token": [BOGUS_TOKEN, w.tokens[w.number("public-1")], w.tokens[w.number("hidden")]],
        "key": ["bogus-key-0123"],
        "action": ["triage", "accept", "no_such_action"],
        "uidb36": ["1"],
        # A forged unsubscribe link, and real ones for an address that is no secret, one about
        # an internal item (the page must not name it).
        "signed": [
            "not-a-signed-value",
            unsubscribe_token(address="nobody@example.org", scope="all"),
            unsubscribe_token(
                address="nobody@example.org", scope=f"item:{w.items['internal-1'].pk}"
            ),
        ],
        "view_id": ["1"],
    }
    missing = {
        "spec": ["no-such-spec"],
        "label": ["2098-01-01"],
        "clause_id": ["no_such_clause"],
        "tracking_number": w.never_issued,
    }
    for area in leak_routes.areas():
        for name, more in getattr(area, "values", lambda w: {})(w).items():
            values.setdefault(name, []).extend(more)
        for name, more in getattr(area, "missing", lambda w: {})(w).items():
            missing.setdefault(name, []).extend(more)
    return values, missing


def _not_own_token(w: World):
    owner = {token: number for number, token in w.tokens.items()}
    return lambda combo: (
        "token" not in combo or owner.get(combo["token"]) != combo["tracking_number"]
    )


def _with_query(path: str, query: str) -> str:
    if not query:
        return path
    return path + ("&" if "?" in path else "?") + query.lstrip("?")


def site_probes(w: World) -> tuple[list[Probe], list[str]]:
    """Every GET the crawl makes, and the problems that prevent a complete crawl (routes
    neither listed nor skipped, listed routes that no longer exist)."""
    problems, probes, last = [], [], []
    patterns = {route.pattern for route in site_routes()}
    values, missing = _values(w)
    for pattern in sorted(patterns):
        if pattern.startswith("admin/") or pattern in SKIP:
            continue
        way = ROUTES.get(pattern)
        if way is None:
            problems.append(f"route {pattern!r} is not in ROUTES (say how to crawl it) or SKIP")
            continue
        try:
            paths = route_urls(pattern, values, missing, keep=_not_own_token(w))
        except AssertionError as exc:
            problems.append(str(exc))
            continue
        queries = way.queries(w) if callable(way.queries) else way.queries
        target = last if way.last else probes
        for path in paths:
            for query in queries:
                url = _with_query(path, query)
                target.append(Probe(url))
                if way.kind == "html":
                    target.append(Probe(url, HX))
                elif not query:
                    target.append(Probe(_with_query(url, "?format=json")))
                if way.gzip:
                    target.append(Probe(url, GZIP))
    problems += [f"ROUTES lists {p!r}, which the URLconf no longer has" for p in ROUTES
                 if p not in patterns]  # fmt: skip
    probes += [Probe(url) for url in UNROUTED] + last
    return probes, problems


def admin_urls(w: World) -> list[str]:
    insider = w.staff[0]
    values = {
        "object_id": [str(w.items["internal-1"].pk)],
        "content_type_id": [str(ContentType.objects.get_for_model(FeedbackItem).pk)],
        "app_label": ["feedback"],
        "id": [str(insider.pk)],
        "url": ["no-such-app/no-such-page/", "feedback/feedbackitem/x/y/z"],
    }
    return [
        url
        for route in site_routes()
        if route.pattern.startswith("admin/")
        for url in route_urls(route.pattern, values, {})
    ]


# --- Clients ----------------------------------------------------------------------------------


@pytest.fixture
def commenter(make_user) -> Client:
    """Signed in, no role: what any member of the public can become."""
    client = Client()
    client.force_login(make_user("commenter"))
    return client


def _warm_caches(staff: Client, w: World, scanner: Scanner) -> Tally:
    """A staff member reads first, so any cache that kept what staff see would serve it to
    the public next. Staff do see the markers: a check that they are where they should be."""
    urls = ["/", "/feedback/", f"/feedback/{w.number('internal-1')}/",
            f"/staff/items/{w.number('public-1')}/"]  # fmt: skip
    for label in (LATEST, OLDER, w.draft_label):
        urls += [
            f"/specs/{SPEC}/versions/{label}/",
            f"/specs/{SPEC}/versions/{label}/clauses/overview/",
        ]
    urls += [f"/specs/{SPEC}/versions/{LATEST}/clauses/{c}/" for c in (SHARED, HIDDEN_ON)]
    urls += [f"/specs/{SPEC}/versions/{OLDER}/clauses/{OLD_ON}/"]
    return crawl(staff, [Probe(u) for u in urls], scanner, role="staff")


def _cache_policy(*, signed_in: bool):
    """No shared cache may keep what a signed-in person was shown, or serve an htmx fragment
    for a page: every response varies on HX-Request, and a signed-in one is private, no-store
    and varies on Cookie."""

    def inspect(probe: Probe, response) -> str:
        vary = {v.strip().lower() for v in response.get("Vary", "").split(",")}
        if "hx-request" not in vary:
            return f"Vary is {response.get('Vary')!r}: not on HX-Request"
        private = response.get("Cache-Control") == "private, no-store" and "cookie" in vary
        if signed_in and not private:
            return f"Cache-Control {response.get('Cache-Control')!r}, Vary {vary}"
        return ""

    return inspect


def _report(capsys, lines: list[str]) -> None:
    with capsys.disabled():
        print("\n" + "\n".join(f"[canary crawl] {line}" for line in lines))


def _failures(tally: Tally) -> list[str]:
    return tally.hits + tally.errors


# --- The crawl --------------------------------------------------------------------------------


def test_canary_crawl_finds_nothing_anywhere(world, commenter, staff_client, monkeypatch, capsys):
    # Two items a page, so the tracker's cursor pages exist with internal items between them.
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    probes, problems = site_probes(world)
    assert not problems, "the crawl cannot cover every route:\n" + "\n".join(problems)
    scanner = Scanner(world.secrets)

    staff = _warm_caches(staff_client(*ALL_ROLES, username="warmer"), world, scanner)
    assert {"internal-1: summary", "internal-1: quoted passage", "draft: text"} <= staff.found
    assert {"internal note", "internal note reply", "label name", "reviewer's rationale",
            "prepared decision rationale"} <= staff.found  # fmt: skip

    tallies = [
        crawl(Client(), probes, scanner, role="anonymous", inspect=_cache_policy(signed_in=False)),
        crawl(commenter, probes, scanner, role="commenter", inspect=_cache_policy(signed_in=True)),
    ]
    admin = [_admin_check(client, role, world, scanner) for role, client in
             (("anonymous", Client()), ("commenter", commenter))]  # fmt: skip
    assert commenter.get("/accounts/email/").status_code == 200  # still signed in after all
    _report(capsys, [
        f"{len(site_routes())} URL patterns ({len(ROUTES)} crawled, the admin's checked), "
        f"{len(probes)} requests per role, {len(world.secrets)} secrets",
        *[t.figure() for t in tallies], *[t.figure() + " [admin]" for t in admin],
    ])  # fmt: skip
    failures = [f for t in [*tallies, *admin] for f in _failures(t)]
    assert not failures, f"{len(failures)} leaks or errors:\n" + "\n".join(failures[:60])
    # Every probe was fetched, and the lists' further pages (cursors) were followed.
    for tally in tallies:
        assert tally.responses == len(probes) + tally.followed > len(probes), tally.figure()


def _admin_check(client: Client, role: str, w: World, scanner: Scanner) -> Tally:
    """The admin is for staff: every one of its routes sends the public to sign in (the
    admin's own login goes through allauth's; a signed-in account without staff status is
    refused there). Every hop is scanned like the rest."""
    tally = Tally(role)
    for url in admin_urls(w):
        hops = []
        response, _body = fetch(client, Probe(url), scanner, tally)
        hops.append(response.status_code)
        while response.status_code in (301, 302) and len(hops) < 4:
            location = response["Location"]
            response, _body = fetch(client, Probe(location), scanner, tally)
            hops.append(response.status_code)
        final = location if len(hops) > 1 else url
        if role == "anonymous":
            ok = hops[0] in (301, 302) and final.startswith("/accounts/login/")
            ok = ok and response.status_code == 200
        else:
            ok = final.startswith("/admin/login/") and hops[-1] == 403 and len(hops) <= 3
        if not ok:
            tally.errors.append(f"{role} GET {url}: {hops}, ends at {final}: not sent to sign in")
    return tally


# --- Targeted checks --------------------------------------------------------------------------


def _same(client: Client, method: str, a: str, b: str, *, swap: dict[str, str], **extra) -> str:
    """'' when `a` and `b` answer identically once the identifiers in `swap` are replaced."""
    answers = []
    for url in (a, b):
        call = client.post if method == "POST" else client.get
        response = call(url, **extra)
        answers.append(normalised(response, response_bytes(response), replace=swap))
    if answers[0] == answers[1]:
        return ""
    return f"{method} {a} and {b} differ: {answers[0][:4]} vs {answers[1][:4]}"


@pytest.mark.parametrize("role", ["anonymous", "commenter"])
def test_an_internal_item_answers_exactly_like_a_never_issued_number(world, commenter, role):
    client = commenter if role == "commenter" else Client()
    never = world.never_issued[1]  # same (internal) series, never handed out
    differences = []
    for name in ("internal-1", "internal-2", "internal-3"):
        number = world.number(name)
        swap = {number: "{N}", never: "{N}"}
        for template in ("/feedback/{}/", "/feedback/{}/receipt/", "/feedback/{}/report/",
                         "/feedback/{}/endorse/", f"/feedback/{{}}/follow/{BOGUS_TOKEN}/",
                         "/api/v1/feedback/{}/", "/api/v1/feedback/{}/endorse/"):  # fmt: skip
            a, b = template.format(number), template.format(never)
            differences += [
                _same(client, "GET", a, b, swap=swap),
                _same(client, "GET", a, b, swap=swap, HTTP_HX_REQUEST="true"),
            ]
        for template, data in (("/feedback/{}/endorse/", {}),
                               ("/feedback/{}/report/", {"reason": "spam spam"})):  # fmt: skip
            a, b = template.format(number), template.format(never)
            differences.append(_same(client, "POST", a, b, swap=swap, data=data))
        a, b = f"/api/v1/feedback/{number}/endorse/", f"/api/v1/feedback/{never}/endorse/"
        differences.append(_same(client, "POST", a, b, swap=swap, content_type="application/json"))
    # The draft, and the clause only it has, answer like a version and a clause that never were.
    draft, never_label = world.draft_label, "2098-01-01"
    swap = {draft: "{L}", never_label: "{L}"}
    for template in (
        "/specs/model-spec/versions/{}/", "/specs/model-spec/versions/{}/source.md",
        "/specs/model-spec/versions/{}/clauses/overview/",
        "/api/v1/specs/model-spec/versions/{}/",
        "/api/v1/specs/model-spec/versions/{}/clauses/overview/",
        "/feedback/new/?spec=model-spec&version={}&clause=overview",
        "/feedback/similar/?spec=model-spec&version={}&clause=overview&q=canary",
        "/feedback/?version={}", "/api/v1/feedback/?version={}",
    ):  # fmt: skip
        differences.append(_same(client, "GET", template.format(draft),
                                 template.format(never_label), swap=swap))  # fmt: skip
    clause, never_clause = world.draft_clause, "no_such_clause"
    swap = {clause: "{C}", never_clause: "{C}"}
    for template in ("/specs/model-spec/clauses/{}/", "/api/v1/specs/model-spec/clauses/{}/history/",
                     "/feedback/?clause={}", "/api/v1/feedback/?clause={}"):  # fmt: skip
        differences.append(_same(client, "GET", template.format(clause),
                                 template.format(never_clause), swap=swap))  # fmt: skip
    differences = [d for d in differences if d]
    assert not differences, "\n".join(differences)
    # The comparison does tell a visible item from a missing one.
    public, never_public = world.number("public-1"), world.never_issued[0]
    swap = {public: "{N}", never_public: "{N}"}
    assert _same(client, "GET", f"/feedback/{public}/", f"/feedback/{never_public}/", swap=swap)


_COUNT = re.compile(
    r'id="fb-links-([^"]+)">(?:<a class="fb-count" href="[^"]*#feedback">(\d+) feedback items?</a>)?'
)
_PAGE_LINK = re.compile(r'rel="(?:next|prev)" href="([^"]+)"')
_NEXT_LINK = re.compile(r'rel="next" href="([^"]+)"')
_SIMILAR = re.compile(r'<a href="/feedback/([^/"]+)/">')
_ROW_NUMBER = re.compile(r'class="fb-row-number">([^<]+)<')


def _public_counts(version: Version) -> dict[str, int]:
    counts: dict[str, int] = {}
    rows = FeedbackItem.objects.filter(version=version, visibility="public", hidden=False)
    for anchor in rows.values_list("clause_text__anchor", flat=True):
        counts[anchor] = counts.get(anchor, 0) + 1
    return counts


def _all_rows(client: Client, url: str) -> list[str]:
    """Tracking numbers of every page of an HTML list or an API list."""
    numbers, seen = [], set()
    while url and url not in seen and len(seen) < 50:
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        if url.startswith("/api/"):
            data = response.json()
            numbers += [row["tracking_number"] for row in data["results"]]
            url = (data["next"] or "").replace("http://testserver", "")
        else:
            text = response.content.decode()
            numbers += _ROW_NUMBER.findall(text)
            nxt = _NEXT_LINK.search(text)
            url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    return numbers


@pytest.mark.parametrize("role", ["anonymous", "commenter"])
def test_counts_and_lists_hold_only_public_items(world, commenter, role):
    client = commenter if role == "commenter" else Client()
    for label in (LATEST, OLDER, OLDEST):
        version = Version.objects.get(spec__slug=SPEC, label=label)
        expected = _public_counts(version)
        page = client.get(f"/specs/{SPEC}/versions/{label}/").content.decode()
        shown = {anchor: int(n) for anchor, n in _COUNT.findall(page) if n}
        assert shown == expected, label
        for anchor in (SHARED, HIDDEN_ON, OLD_ON, world.example_clause):
            url = f"/specs/{SPEC}/versions/{label}/clauses/{anchor}/"
            page = client.get(url).content.decode()
            rows = _ROW_NUMBER.findall(page)
            assert len(rows) == expected.get(anchor, 0), url
            assert set(rows) <= world.public_numbers, url
            heading = dict(_COUNT.findall(page)).get(anchor)
            assert int(heading or 0) == expected.get(anchor, 0), url
    public = world.public_numbers
    # The core canaries, and any public items the areas of tests/leak_routes/ planted.
    assert public >= {world.number(n) for n in ("public-1", "public-2", "hidden")}
    assert set(_all_rows(client, "/api/v1/feedback/?page_size=1")) == public
    assert set(_all_rows(client, "/feedback/")) == public  # the hidden one as a placeholder


@pytest.mark.parametrize("role", ["anonymous", "commenter"])
def test_filters_on_internal_values_reveal_nothing(world, commenter, role):
    client = commenter if role == "commenter" else Client()
    public, email = world.public_numbers, world.items["public-1"].submitter_email
    token = world.tokens[world.number("public-1")]
    internal_only = {
        "visibility": "internal", "submitter_email": email, "submitter_email__icontains": "leak",
        "report_count": "1", "report_count__gt": "0", "hidden": "true", "submitter": "1",
        "follow_token_hash": token_hash(token)[:8], "created_at__gt": "2000-01-01",
        "summary__icontains": "LEAK", "ordering": "report_count",
    }  # fmt: skip
    for name, value in [*internal_only.items(), ("ordering", "visibility"),
                        ("ordering", "-submitter_email"), ("visibility", "public")]:  # fmt: skip
        response = client.get("/api/v1/feedback/", {name: value})
        assert response.status_code == 400, (name, value)
        assert response.json()["code"] in ("unknown_parameter", "invalid"), (name, value)

    baseline = _all_rows(client, "/feedback/")
    for name, value in [*internal_only.items(), ("sort", "report_count"), ("sort", "visibility"),
                        ("state", "no_such_state"), ("version", world.draft_label)]:  # fmt: skip
        assert _all_rows(client, f"/feedback/?{name}={quote(value)}") == baseline, (name, value)

    states = dict(
        FeedbackItem.objects.filter(tracking_number__in=public).values_list(
            "tracking_number", "state"
        )
    )
    for state in State.values:
        expected = {number for number, now in states.items() if now == state}
        assert set(_all_rows(client, f"/api/v1/feedback/?state={state}")) == expected, state
        assert set(_all_rows(client, f"/feedback/?state={state}")) == expected, state

    # Searching for words only internal or withheld text holds finds nothing (similar
    # feedback may find public items whose summaries look alike, nothing else).
    shown_with_words = {world.number("public-1"), world.number("public-2")}
    for words in (INTERNAL_WORDS, HIDDEN_WORDS, world.markers["internal-1: body"],
                  world.markers["hidden: body"], world.markers["hidden: quoted passage"],
                  world.markers["report reason"]):  # fmt: skip
        assert _all_rows(client, f"/api/v1/feedback/?q={quote(words)}") == [], words
        assert _all_rows(client, f"/feedback/?q={quote(words)}") == [], words
        for clause in (SHARED, HIDDEN_ON, world.example_clause):
            url = f"/feedback/similar/?version={LATEST}&clause={clause}&q={quote(words)}"
            found = set(_SIMILAR.findall(client.get(url).content.decode()))
            assert found <= shown_with_words, url
    # Only the public, not hidden, item has a passage for the public.
    passages = set(_all_rows(client, "/api/v1/feedback/?has_passage=true"))
    assert passages == {world.number("public-1")}
    assert public - passages == set(_all_rows(client, "/api/v1/feedback/?has_passage=false"))


def _cursor_values(link: str) -> list:
    """What a list's cursor carries, read the way anyone can: the API's is base64 JSON; the
    tracker's is signed (not encrypted) base64, zlib-compressed when it starts with a dot."""
    cursor = parse_qs(urlsplit(link).query)["cursor"][0]
    if ":" in cursor:  # django.core.signing: payload:timestamp:signature
        payload = cursor.split(":")[0]
        raw = b64_decode(payload.lstrip(".").encode())
        data = json.loads(zlib.decompress(raw) if payload.startswith(".") else raw)
        return data[2]
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["k"]


def test_cursors_do_not_count_internal_items(world, monkeypatch):
    """Internal items have their own tracking series "so gaps in the public series never
    reveal that internal items exist" (feedback.services). The lists' cursors must not give
    that away either: two public items filed around an internal one are neighbours to the
    public, and nothing the public receives may tell that something lies between them."""
    latest = Version.objects.select_related("spec").get(spec__slug=SPEC, label=LATEST)
    insider = world.staff[0]

    def file(user, visibility: str, summary: str) -> FeedbackItem:
        submission = Submission(version=latest, clause_id=SHARED, kind="other", summary=summary,
                                visibility=visibility)  # fmt: skip
        return feedback_submit(acting_user=user, submission=submission).item

    before = file(AnonymousUser(), Visibility.PUBLIC, "Public neighbour before")
    file(insider, Visibility.INTERNAL, "Internal item between")
    file(insider, Visibility.INTERNAL, "Another internal item between")
    after = file(AnonymousUser(), Visibility.PUBLIC, "Public neighbour after")
    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    client = Client()
    links: list[str] = []
    for start in ("/api/v1/feedback/?page_size=1", "/api/v1/feedback/?page_size=1&ordering=oldest",
                  "/feedback/", "/feedback/?sort=oldest"):  # fmt: skip
        url, seen = start, set()
        while url and url not in seen and len(seen) < 20:
            seen.add(url)
            response = client.get(url)
            if url.startswith("/api/"):
                data = response.json()
                links += [data[k] for k in ("next", "previous") if data[k]]
                url = (data["next"] or "").replace("http://testserver", "")
            else:
                text = response.content.decode()
                links += [m.replace("&amp;", "&") for m in _PAGE_LINK.findall(text)]
                nxt = _NEXT_LINK.search(text)
                url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert links, "no list was long enough to have a cursor"
    pks = dict(FeedbackItem.objects.values_list("pk", "tracking_number"))
    carried = {v for link in links for v in _cursor_values(link) if type(v) is int}
    revealed = {pk: pks[pk] for pk in sorted(carried & set(pks))}
    assert not revealed, (
        f"cursors carry row ids {revealed}: {before.tracking_number} is id {before.pk} and "
        f"{after.tracking_number}, the next public item, id {after.pk}; the gap counts the "
        "internal items filed in between"
    )


# --- The crawl can fail -----------------------------------------------------------------------


def _break(monkeypatch, module, name: str, broken) -> int:
    """Replace `module.name` everywhere it was imported; returns how many places."""
    original = getattr(module, name)
    places = [m for m in list(sys.modules.values()) if getattr(m, name, None) is original]
    for place in places:
        monkeypatch.setattr(place, name, broken)
    return len(places)


BREAKAGES = {
    "feedback_visible_to": (
        feedback_selectors,
        lambda viewer: FeedbackItem.objects.all(),
        {"internal-1: summary", "internal-1: tracking number", "internal-3: tracking number"},
    ),
    "versions_visible_to": (
        revisions_selectors,
        lambda viewer: Version.objects.select_related("spec"),
        {"draft: text", "draft: heading", "draft label"},
    ),
}


@pytest.mark.parametrize("broken", sorted(BREAKAGES))
def test_the_crawl_finds_markers_once_visibility_is_broken(world, monkeypatch, capsys, broken):
    module, replacement, expected = BREAKAGES[broken]
    assert _break(monkeypatch, module, broken, replacement) >= 2
    probes, problems = site_probes(world)
    assert not problems
    wanted = ("/feedback/", "/api/v1/feedback/", "/specs/", "/api/v1/specs/")
    probes = [p for p in probes if p.url.startswith(wanted) and not p.headers]
    tally = crawl(Client(), probes, Scanner(world.secrets), role=f"anonymous, {broken} broken")
    found = tally.found
    _report(capsys, [f"{tally.figure()}: {len(tally.hits)} hits, {len(found)} distinct secrets"])
    assert expected <= found, f"the crawl missed {expected - found}; found {sorted(found)}"


def test_the_public_schema_documents_public_operations_only(client, staff_client):
    schema = client.get("/api/schema/?format=json").json()
    # The ledger itself is for auditors; its public checkpoints are documented for everyone.
    assert [p for p in schema["paths"] if p.startswith("/api/v1/audit/events/")] == []
    assert "/api/v1/audit/checkpoints/" in schema["paths"]
    assert "Event" not in schema["components"]["schemas"]
    assert "/api/v1/feedback/" in schema["paths"]
    # Staff get the whole API documented; the public cannot read that schema.
    assert client.get("/api/schema/staff/?format=json").status_code == 403
    staff_schema = staff_client("auditor").get("/api/schema/staff/?format=json").json()
    assert "/api/v1/audit/events/" in staff_schema["paths"]
