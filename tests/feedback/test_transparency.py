"""The transparency dashboard (/transparency/): its numbers equal those computed here in Python
from the same rows; the public learns nothing about internal or hidden items beyond one
withheld total; filters; the cache; the charts' text alternatives."""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections import Counter

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback import tasks, transparency
from feedback.charts import Bar, bar_chart
from feedback.models import FeedbackItem, State, Transition, Visibility
from feedback.services import Submission, feedback_submit
from revisions.models import ClauseText, Version

pytestmark = pytest.mark.django_db

LATEST, OLDER = "2025-09-12", "2025-04-11"
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
TRIAGE_TARGETS = {s for s in State.values if s != State.WITHDRAWN}
DECISIONS = {State.ACCEPTED, State.DECLINED, State.DEFERRED, State.DUPLICATE}
DECIDED = {State.ACCEPTED, State.INCORPORATED, State.DECLINED, State.DEFERRED}
ACCEPTED = {State.ACCEPTED, State.INCORPORATED}
# The internal items' marker words, and their kind, which no published item has.
INTERNAL_MARK = f"TRANSPARENCY-INTERNAL-{uuid.uuid4().hex[:8]}"
INTERNAL_ONLY_KIND = "editorial"


def _anchor(version, authority):
    return (
        ClauseText.objects.filter(version=version, authority=authority)
        .order_by("position")
        .values_list("anchor", flat=True)
        .first()
    )


@pytest.fixture
def seeded(make_user):
    """A mix of items: public (by kind, authority, state, with endorsements and transitions at
    known times), one on an older version, hidden ones, internal ones; all received over the
    last weeks. Returns {"base": the first day, "items": [...]}"""
    staff = make_user("insider", roles=["triager"], is_staff=True)
    latest = Version.objects.select_related("spec").get(spec__slug="model-spec", label=LATEST)
    older = Version.objects.get(spec__slug="model-spec", label=OLDER)
    base = (timezone.now() - 40 * DAY).replace(hour=9, minute=0, second=0, microsecond=0)
    # (kind, authority, state, endorsements, hours to triage, hours to decision, flags)
    plan = [
        ("unclear", "root", State.ACCEPTED, 3, 2, 30, ""),
        ("unclear", "root", State.DECLINED, 0, 5, 70, ""),
        ("unclear", "user", State.TRIAGED, 1, 1, None, ""),
        ("disagree", "root", State.INCORPORATED, 4, 10, 100, ""),
        ("disagree", "guideline", State.DEFERRED, 0, 3, 200, ""),
        ("disagree", "guideline", State.RECEIVED, 2, None, None, ""),
        ("missing_case", "system", State.ACCEPTED, 0, 20, 50, ""),
        ("missing_case", "user", State.DUPLICATE, 1, 7, 7, ""),
        ("missing_case", "", State.SPAM, 0, 0.5, None, ""),
        ("other", "guideline", State.WITHDRAWN, 0, None, None, "withdrawn"),
        ("conflict", "developer", State.IN_REVIEW, 5, 40, None, "older"),
        ("unclear", "root", State.DECLINED, 9, 1, 2, "hidden"),
        ("disagree", "user", State.RECEIVED, 6, None, None, "hidden"),
        (INTERNAL_ONLY_KIND, "root", State.ACCEPTED, 0, 1, 3, "internal"),
        (INTERNAL_ONLY_KIND, "system", State.DECLINED, 0, 2, 4, "internal"),
        (INTERNAL_ONLY_KIND, "user", State.RECEIVED, 0, None, None, "internal"),
    ]
    items = []
    for index, (kind, authority, state, endorsed, to_triage, to_decision, flag) in enumerate(plan):
        internal = flag == "internal"
        submission = Submission(
            version=latest,
            clause_id=_anchor(latest, authority),
            kind=kind,
            summary=f"{INTERNAL_MARK} {index}" if internal else f"Public item {index}",
            visibility=Visibility.INTERNAL if internal else Visibility.PUBLIC,
        )
        item = feedback_submit(
            acting_user=staff if internal else AnonymousUser(), submission=submission
        ).item
        created = base + index * DAY + index * HOUR
        FeedbackItem.objects.filter(pk=item.pk).update(
            state=state,
            endorsement_count=endorsed,
            created_at=created,
            hidden=flag == "hidden",
            **({"version": older} if flag == "older" else {}),
        )
        moves = []
        if flag == "withdrawn":
            moves.append(("withdraw", State.RECEIVED, State.WITHDRAWN, 3))
        if to_triage is not None:
            first = State.TRIAGED if state not in {State.SPAM} else State.SPAM
            if state == State.DUPLICATE:
                first = State.DUPLICATE
            moves.append(("triage", State.RECEIVED, first, to_triage))
        if to_decision is not None and state != State.DUPLICATE:
            target = State.ACCEPTED if state == State.INCORPORATED else state
            moves.append(("decide", State.IN_REVIEW, target, to_decision))
        if state == State.INCORPORATED:
            moves.append(("incorporate", State.ACCEPTED, State.INCORPORATED, 300))
        for action, from_state, to_state, hours in moves:
            move = Transition.objects.create(
                item=item, action=action, from_state=from_state, to_state=to_state,
                actor_label="insider",
            )  # fmt: skip
            Transition.objects.filter(pk=move.pk).update(created_at=created + hours * HOUR)
        items.append(item)
    return {"base": base, "items": list(FeedbackItem.objects.filter(pk__in=[i.pk for i in items]))}


# --- Expected numbers, computed in Python ---------------------------------------------------


def _percentile(values, fraction):
    """percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * fraction
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _expected(items, *, version=None, since=None, until=None):
    def selected(item):
        if version and item.version.label != version:
            return False
        day = timezone.localtime(item.created_at).date()
        return not ((since and day < since) or (until and day > until))

    chosen = [i for i in items if selected(i)]
    published = [i for i in chosen if i.visibility == "public" and not i.hidden]
    triage, decision = [], []
    for item in published:
        moves = list(Transition.objects.filter(item=item).order_by("created_at", "id"))
        first = next(
            (m for m in moves if m.from_state == State.RECEIVED and m.to_state in TRIAGE_TARGETS),
            None,
        )
        if first:
            triage.append((first.created_at - item.created_at).total_seconds())
        decided = next((m for m in moves if m.to_state in DECISIONS), None)
        if decided:
            decision.append((decided.created_at - item.created_at).total_seconds())

    def rates(key):
        out = {}
        for value in {key(i) for i in published}:
            group = [i for i in published if key(i) == value]
            n_decided = sum(i.state in DECIDED for i in group)
            n_accepted = sum(i.state in ACCEPTED for i in group)
            out[value] = (
                n_decided,
                n_accepted,
                round(100 * n_accepted / n_decided, 1) if n_decided else None,
            )
        return out

    endorsements = Counter()
    for item in published:
        endorsements[item.kind] += item.endorsement_count
    return {
        "received": len(chosen),
        "published": len(published),
        "withheld": len(chosen) - len(published),
        "by_kind": Counter(i.kind for i in published),
        "by_authority": Counter(i.clause_text.authority for i in published),
        "by_state": Counter(i.state for i in published),
        "by_version": Counter(i.version.label for i in published),
        "triage": (len(triage), _percentile(triage, 0.5), _percentile(triage, 0.9)),
        "decision": (len(decision), _percentile(decision, 0.5), _percentile(decision, 0.9)),
        "rate_kind": rates(lambda i: i.kind),
        "rate_authority": rates(lambda i: i.clause_text.authority),
        "endorsements": sum(i.endorsement_count for i in published),
        "endorsements_by_kind": {k: v for k, v in endorsements.items() if v},
    }


def _check(data, expected):
    assert data["totals"] == {
        "received": expected["received"],
        "published": expected["published"],
        "withheld": expected["withheld"],
    }
    assert {r["key"]: r["count"] for r in data["by_kind"]} == expected["by_kind"]
    assert {r["key"]: r["count"] for r in data["by_authority"]} == expected["by_authority"]
    assert {r["key"]: r["count"] for r in data["by_state"]} == expected["by_state"]
    assert {r["label"]: r["count"] for r in data["by_version"]} == expected["by_version"]
    for name in ("triage", "decision"):
        count, median, p90 = expected[name]
        got = data["timing"][name]
        assert got["count"] == count
        assert got["median"] == pytest.approx(median, abs=0.1)
        assert got["p90"] == pytest.approx(p90, abs=0.1)
    assert {
        r["key"]: (r["decided"], r["accepted"], r["rate"]) for r in data["by_kind"]
    } == expected["rate_kind"]
    assert {
        r["key"]: (r["decided"], r["accepted"], r["rate"]) for r in data["by_authority"]
    } == expected["rate_authority"]
    assert data["endorsements"]["total"] == expected["endorsements"]
    assert {r["key"]: r["endorsements"] for r in data["by_kind"] if r["endorsements"]} == expected[
        "endorsements_by_kind"
    ]


# --- The numbers ----------------------------------------------------------------------------


def test_numbers_equal_those_computed_from_the_rows(seeded):
    items = list(FeedbackItem.objects.select_related("version", "clause_text"))
    expected = _expected(items)
    # The seed is what the test says it is: 16 received, 11 published, 5 withheld.
    assert (expected["received"], expected["published"], expected["withheld"]) == (16, 11, 5)
    assert expected["triage"][0] == 9 and expected["decision"][0] == 6
    _check(transparency.dashboard_compute(transparency.Filters()), expected)


def test_filters_by_version_and_by_dates(seeded):
    items = list(FeedbackItem.objects.select_related("version", "clause_text"))
    only_older = transparency.dashboard_compute(transparency.Filters(version=OLDER))
    _check(only_older, _expected(items, version=OLDER))
    assert only_older["totals"] == {"received": 1, "published": 1, "withheld": 0}

    base = timezone.localtime(seeded["base"]).date()
    since, until = base + 2 * DAY, base + 12 * DAY
    window = transparency.dashboard_compute(transparency.Filters(since=since, until=until))
    expected = _expected(items, since=since, until=until)
    assert expected["received"] == 11  # items 2..12: the window is inclusive at both ends
    _check(window, expected)


def test_the_page_shows_the_numbers_and_tables(client, seeded):
    response = client.get("/transparency/")
    assert response.status_code == 200
    html = response.content.decode()
    cell = lambda name: re.search(rf'id="total-{name}">(\d+)<', html).group(1)  # noqa: E731
    assert (cell("received"), cell("published"), cell("withheld")) == ("16", "11", "5")
    assert cell("endorsements") == "16"
    assert "Computed at" in html
    # Each breakdown's table carries the numbers of its chart.
    assert re.search(r"<th scope=\"row\">I disagree</th><td>3</td>", html)
    assert re.search(r"<th scope=\"row\">root</th><td>3</td>", html)


def test_the_public_learns_nothing_internal_beyond_the_withheld_total(client, seeded):
    html = client.get("/transparency/").content.decode()
    assert INTERNAL_MARK not in html
    # The only kind internal items have appears nowhere: no per-kind internal number.
    assert "Editorial" not in html
    # The internal items' states and the hidden items' kinds do not swell any count either:
    # accepted is 2 published items (not 3 with the internal one).
    data = transparency.dashboard_compute(transparency.Filters())
    assert {r["key"]: r["count"] for r in data["by_state"]}[State.ACCEPTED] == 2
    assert INTERNAL_ONLY_KIND not in {r["key"] for r in data["by_kind"]}


def test_a_signed_in_staff_member_gets_the_same_public_numbers(staff_client, seeded, client):
    public = client.get("/transparency/").content.decode()
    staff = staff_client("triager").get("/transparency/").content.decode()
    numbers = lambda html: re.findall(r'id="total-\w+">(\d+)<', html)  # noqa: E731
    assert numbers(staff) == numbers(public)
    assert INTERNAL_MARK not in staff


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?version=2099-nope", "version"),
        ("?since=2025-05-01&until=2025-04-01", "until"),
        ("?since=not-a-date", "since"),
        ("?since=1900-01-01", "since"),
        ("?spec=no-such-spec", "spec"),
    ],
)
def test_bad_filters_are_a_400_that_does_not_repeat_them(client, query, field):
    response = client.get(f"/transparency/{query}")
    assert response.status_code == 400
    html = response.content.decode().split("<main", 1)[1].split("</main>", 1)[0]
    assert f'id="id_{field}_error"' in html or "errorlist" in html
    assert "2099-nope" not in html and "no-such-spec" not in html
    assert 'id="total-received"' not in html


def test_a_draft_label_answers_like_a_label_that_does_not_exist(client, bundled_source):
    from revisions.services import version_import

    spec = Version.objects.get(spec__slug="model-spec", label=LATEST).spec
    version_import(spec=spec, label="2031-01-01", data=bundled_source(LATEST))
    draft = client.get("/transparency/?version=2031-01-01")
    missing = client.get("/transparency/?version=2032-01-01")
    assert draft.status_code == missing.status_code == 400
    main = draft.content.decode().split("<main", 1)[1].split("</main>", 1)[0]
    assert "2031-01-01" not in main


def test_filter_form_works_as_a_plain_get(client, seeded):
    response = client.get(f"/transparency/?version={OLDER}&since=&until=")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="total-received">1<', html)
    assert f'<option value="{OLDER}" selected>' in html


# --- The cache ------------------------------------------------------------------------------


def test_a_second_request_runs_no_aggregate_query(client, seeded):
    assert client.get("/transparency/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/transparency/").status_code == 200
    assert not [q for q in queries.captured_queries if "feedback_" in q["sql"]]
    assert len(queries.captured_queries) == 0


def test_each_filter_set_has_its_own_cache_entry(client, seeded):
    client.get("/transparency/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/transparency/?version={OLDER}")
    assert any("percentile_cont" in q["sql"] for q in queries.captured_queries)
    assert re.search(r'id="total-received">1<', response.content.decode())


def test_numbers_are_kept_until_recomputed_by_the_beat_task(client, seeded, make_user):
    client.get("/transparency/")
    item = next(i for i in seeded["items"] if i.visibility == "public" and not i.hidden)
    FeedbackItem.objects.filter(pk=item.pk).update(hidden=True)
    html = client.get("/transparency/").content.decode()
    assert re.search(r'id="total-withheld">5<', html)  # cached
    tasks.transparency_precompute()
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/transparency/").content.decode()
    assert re.search(r'id="total-withheld">6<', html)
    assert not [q for q in queries.captured_queries if "feedback_" in q["sql"]]


def test_the_cache_key_names_the_audience_and_every_filter():
    a = transparency.Filters(version=OLDER)
    b = transparency.Filters(version=OLDER, since=dt.date(2025, 1, 1))
    assert a.cache_key() != b.cache_key()
    assert a.cache_key("public") != a.cache_key("staff")
    assert ":public:" in a.cache_key()
    with pytest.raises(ValueError):
        transparency.dashboard_get(a, audience="staff")


# --- The charts -----------------------------------------------------------------------------


def test_every_chart_has_a_text_alternative(client, seeded):
    html = client.get("/transparency/").content.decode()
    charts = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(charts) >= 9
    for svg in charts:
        opening = re.match(r"<svg\b[^>]*>", svg).group(0)
        assert 'role="img"' in opening
        labelled = re.search(r'aria-labelledby="([^"]+)"', opening).group(1).split()
        title = re.search(r'<title id="([^"]+)">([^<]+)</title>', svg)
        desc = re.search(r'<desc id="([^"]+)">([^<]+)</desc>', svg)
        assert title and desc
        assert labelled == [title.group(1), desc.group(1)]
    totals = next(svg for svg in charts if 'id="chart-totals"' in svg)
    assert "Received: 16; Published: 11; Withheld: 5" in totals
    assert 'style="' not in html.split("<main", 1)[1]  # CSP: no inline styles


def test_bar_chart_escapes_and_writes_values_as_text():
    svg = bar_chart(
        chart_id="x<y",
        title="A & B",
        description="<desc>",
        bars=[Bar("<script>", 3, "3"), Bar("zero", 0, "0")],
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert '<title id="xy-title">A &amp; B</title>' in svg
    assert ">3</text>" in svg and ">0</text>" in svg
    assert svg.count("<rect") == 2
    empty = bar_chart(chart_id="e", title="t", description="d", bars=[], empty="Nothing yet.")
    assert "Nothing yet." in empty and "<rect" not in empty


def test_durations_read_as_sentences_in_english_and_french():
    from django.utils import translation

    from feedback.views_transparency import _duration

    with translation.override("en"):
        assert [_duration(s) for s in (3600, 5400, 36 * 3600, 3 * 86400, None)] == [
            "1.0 hour", "1.5 hours", "36.0 hours", "3.0 days", "\u2013",
        ]  # fmt: skip
    with translation.override("fr"):
        assert [_duration(s) for s in (3600, 5400, 3 * 86400)] == [
            "1,0 heure", "1,5 heures", "3,0 jours",
        ]  # fmt: skip
