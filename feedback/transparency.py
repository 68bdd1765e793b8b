"""The transparency dashboard's numbers (/transparency/): what was received, published and
withheld, how fast feedback is triaged and decided, how often it is accepted, endorsements.

Computed by PostgreSQL (counts, sums, `percentile_cont`) from `feedback_visible_to(anonymous)`,
the public's door: every breakdown (by spec, version, kind, authority level, state) counts only
published items, that is public items a moderator did not hide. What the public may not see
(internal items and hidden ones) appears as ONE number, the withheld total: every item on a
non-draft version minus the published ones, under the same filters.

Computing it takes a dozen aggregate queries, so it never runs per request: `dashboard_get`
answers from the Django cache (one key per audience and filter set) and the beat task
`feedback.transparency_precompute` keeps the default view warm. Each result carries the time
it was computed, which the page shows. Results are plain JSON-able dicts (keys, not translated
labels), so one cached copy serves every language."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    F,
    FloatField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Extract
from django.utils import timezone

from revisions.models import Version
from revisions.selectors import versions_visible_to

from .models import FeedbackItem, State, Transition
from .selectors import feedback_visible_to

CACHE_VERSION = 1
# How long one filter set's numbers are reused. The default view is recomputed by beat more
# often than this, so it never goes cold.
CACHE_SECONDS = 15 * 60
PUBLIC = "public"

# Time to triage: from receipt to the first move out of "received" (triage, or a closing
# state such as duplicate, declined, spam, needs information); a submitter withdrawing is not
# triage. Time to decision: from receipt to the first of these states.
_TRIAGE_TARGETS = tuple(state for state in State.values if state != State.WITHDRAWN)
DECISION_STATES = (State.ACCEPTED, State.DECLINED, State.DEFERRED, State.DUPLICATE)
# Acceptance rate: accepted (or already incorporated) among items decided on their merits.
ACCEPTED_STATES = (State.ACCEPTED, State.INCORPORATED)
DECIDED_STATES = (*ACCEPTED_STATES, State.DECLINED, State.DEFERRED)
PERCENTILES = (("median", 0.5), ("p90", 0.9))


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`; NULLs
    are ignored, an empty group gives NULL."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class Filters:
    """A validated filter set (see views_transparency.FilterForm). Dates are inclusive days
    of receipt in the site's time zone."""

    spec: str = ""
    version: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    @property
    def is_default(self) -> bool:
        return self == Filters()

    def cache_key(self, audience: str = PUBLIC) -> str:
        raw = "|".join(
            [
                audience,
                self.spec,
                self.version,
                self.since.isoformat() if self.since else "",
                self.until.isoformat() if self.until else "",
            ]
        )
        digest = hashlib.sha256(raw.encode()).hexdigest()[:32]
        return f"transparency:v{CACHE_VERSION}:{audience}:{digest}"


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _filtered(queryset: QuerySet[FeedbackItem], filters: Filters) -> QuerySet[FeedbackItem]:
    queryset = queryset.exclude(version__state=Version.State.DRAFT)
    if filters.spec:
        queryset = queryset.filter(spec__slug=filters.spec)
    if filters.version:
        queryset = queryset.filter(version__label=filters.version)
    if filters.since:
        queryset = queryset.filter(created_at__gte=_day_start(filters.since))
    if filters.until:
        queryset = queryset.filter(created_at__lt=_day_start(filters.until + dt.timedelta(days=1)))
    return queryset.order_by()


def published_items(filters: Filters) -> QuerySet[FeedbackItem]:
    """What the public may read in full: public items no moderator hid."""
    return _filtered(feedback_visible_to(AnonymousUser()), filters).filter(hidden=False)


def _breakdown(queryset: QuerySet[FeedbackItem], *fields: str) -> list[dict]:
    """Counts by `fields`, with decided/accepted counts and endorsements, one query."""
    rows = (
        queryset.values(*fields)
        .annotate(
            count=Count("id"),
            decided=Count("id", filter=Q(state__in=DECIDED_STATES)),
            accepted=Count("id", filter=Q(state__in=ACCEPTED_STATES)),
            endorsements=Sum("endorsement_count"),
        )
        .order_by(*fields)
    )
    return [{**row, "endorsements": row["endorsements"] or 0} for row in rows]


def _rate(accepted: int, decided: int) -> float | None:
    return round(100 * accepted / decided, 1) if decided else None


def _first_move(**condition) -> Subquery:
    return Subquery(
        Transition.objects.filter(item=OuterRef("pk"), **condition)
        .order_by("created_at", "id")
        .values("created_at")[:1],
        output_field=DateTimeField(),
    )


def _timing(queryset: QuerySet[FeedbackItem]) -> dict[str, dict]:
    """Median and 90th percentile of the seconds from receipt to triage and to decision, over
    the items that got there (with how many did), one query."""
    annotated = queryset.annotate(
        triaged_at=_first_move(from_state=State.RECEIVED, to_state__in=_TRIAGE_TARGETS),
        decided_at=_first_move(to_state__in=DECISION_STATES),
    ).annotate(
        to_triage=Extract(F("triaged_at") - F("created_at"), "epoch"),
        to_decision=Extract(F("decided_at") - F("created_at"), "epoch"),
    )
    aggregates = {}
    for name in ("to_triage", "to_decision"):
        aggregates[f"{name}__count"] = Count(name)
        for label, fraction in PERCENTILES:
            aggregates[f"{name}__{label}"] = PercentileCont(F(name), fraction)
    values = annotated.aggregate(**aggregates)
    out = {}
    for name, key in (("to_triage", "triage"), ("to_decision", "decision")):
        out[key] = {"count": values[f"{name}__count"]}
        for label, _fraction in PERCENTILES:
            seconds = values[f"{name}__{label}"]
            out[key][label] = round(float(seconds), 1) if seconds is not None else None
    return out


def dashboard_compute(filters: Filters) -> dict:
    """The dashboard's numbers for `filters`, straight from the database (no cache)."""
    published = published_items(filters)
    received = _filtered(FeedbackItem.objects.all(), filters).count()
    totals = published.aggregate(
        published=Count("id"),
        endorsements=Sum("endorsement_count"),
        endorsed_items=Count("id", filter=Q(endorsement_count__gt=0)),
        decided=Count("id", filter=Q(state__in=DECIDED_STATES)),
        accepted=Count("id", filter=Q(state__in=ACCEPTED_STATES)),
    )
    n_published = totals["published"]

    by_spec = [
        {"key": row["spec__slug"], "label": row["spec__title"], "count": row["count"]}
        for row in _breakdown(published, "spec__slug", "spec__title")
    ]
    by_version = [
        {
            "key": f"{row['spec__slug']}/{row['version__label']}",
            "spec": row["spec__slug"],
            "label": row["version__label"],
            "count": row["count"],
        }
        for row in _breakdown(published, "spec__slug", "version__label")
    ]
    by_kind = [
        {
            "key": row["kind"],
            "count": row["count"],
            "decided": row["decided"],
            "accepted": row["accepted"],
            "rate": _rate(row["accepted"], row["decided"]),
            "endorsements": row["endorsements"],
        }
        for row in _breakdown(published, "kind")
    ]
    authority_rows = (
        published.values("clause_text__authority")
        .annotate(
            rank=Min("clause_text__authority_rank"),
            count=Count("id"),
            decided=Count("id", filter=Q(state__in=DECIDED_STATES)),
            accepted=Count("id", filter=Q(state__in=ACCEPTED_STATES)),
            endorsements=Sum("endorsement_count"),
        )
        .order_by(F("rank").asc(nulls_last=True), "clause_text__authority")
    )
    by_authority = [
        {
            "key": row["clause_text__authority"],
            "count": row["count"],
            "decided": row["decided"],
            "accepted": row["accepted"],
            "rate": _rate(row["accepted"], row["decided"]),
            "endorsements": row["endorsements"] or 0,
        }
        for row in authority_rows
    ]
    state_counts = {row["state"]: row["count"] for row in _breakdown(published, "state")}
    by_state = [
        {"key": state, "count": state_counts[state]}
        for state in State.values
        if state in state_counts
    ]
    return {
        "computed_at": timezone.now().isoformat(),
        "filters": {
            "spec": filters.spec,
            "version": filters.version,
            "since": filters.since.isoformat() if filters.since else "",
            "until": filters.until.isoformat() if filters.until else "",
        },
        "totals": {
            "received": received,
            "published": n_published,
            "withheld": max(received - n_published, 0),
        },
        "by_spec": by_spec,
        "by_version": by_version,
        "by_kind": by_kind,
        "by_authority": by_authority,
        "by_state": by_state,
        "timing": _timing(published),
        "acceptance": {
            "decided": totals["decided"],
            "accepted": totals["accepted"],
            "rate": _rate(totals["accepted"], totals["decided"]),
        },
        "endorsements": {
            "total": totals["endorsements"] or 0,
            "items": totals["endorsed_items"],
        },
    }


def dashboard_get(filters: Filters, *, audience: str = PUBLIC) -> dict:
    """The numbers for `filters`, from the cache when computed in the last CACHE_SECONDS."""
    if audience != PUBLIC:
        raise ValueError("only the public dashboard exists")
    key = filters.cache_key(audience)
    data = cache.get(key)
    if data is None:
        data = dashboard_compute(filters)
        cache.set(key, data, CACHE_SECONDS)
    return data


def dashboard_precompute() -> dict:
    """Recompute the default view and store it (the beat task)."""
    filters = Filters()
    data = dashboard_compute(filters)
    cache.set(filters.cache_key(PUBLIC), data, CACHE_SECONDS)
    return data


def version_choices() -> list[dict]:
    """Versions the public may filter by ({spec, spec_title, label}), newest first; cached
    with the numbers' lifetime."""
    key = f"transparency:v{CACHE_VERSION}:versions"
    choices = cache.get(key)
    if choices is None:
        rows = (
            versions_visible_to(AnonymousUser())
            .order_by("spec__slug", "-label")
            .values_list("spec__slug", "spec__title", "label")
        )
        choices = [{"spec": s, "spec_title": t, "label": label} for s, t, label in rows]
        cache.set(key, choices, CACHE_SECONDS)
    return choices
