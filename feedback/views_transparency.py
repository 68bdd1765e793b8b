"""The public transparency dashboard, /transparency/: one GET view, filters in the query string
(a plain form, no JavaScript needed). The numbers come from `feedback.transparency` (cached);
this module only validates the filters, translates the keys and draws the charts."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_GET

from . import transparency
from .charts import Bar, bar_chart
from .models import Kind, State

TEMPLATE = "feedback/transparency.html"
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


class FilterForm(forms.Form):
    """Version and date range. Unknown values are refused with a message that does not repeat
    them (a draft's label typed in by hand answers like any label that does not exist)."""

    spec = forms.ChoiceField(
        label=gettext_lazy("Spec"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choose a spec from the list.")},
    )
    version = forms.ChoiceField(
        label=gettext_lazy("Version"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choose a published version.")},
    )
    since = forms.DateField(
        label=gettext_lazy("Received from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("First day, included."),
    )
    until = forms.DateField(
        label=gettext_lazy("Received until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Last day, included."),
    )

    def __init__(self, *args, versions: list[dict], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._versions = versions
        specs = {row["spec"]: row["spec_title"] for row in versions}
        self.fields["spec"].choices = [("", _("All specs")), *sorted(specs.items())]
        labels = sorted({row["label"] for row in versions}, reverse=True)
        self.fields["version"].choices = [("", _("All versions")), *[(lb, lb) for lb in labels]]
        if len(specs) < 2:
            self.fields["spec"].widget = forms.HiddenInput()

    def clean(self):
        data = super().clean()
        for name in ("since", "until"):
            day = data.get(name)
            if day is not None and not EARLIEST <= day <= LATEST:
                self.add_error(name, _("Choose a date between 2000 and 2100."))
                data[name] = None
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The last day comes before the first."))
        spec, version = data.get("spec"), data.get("version")
        if (
            spec
            and version
            and not any(row["spec"] == spec and row["label"] == version for row in self._versions)
        ):
            self.add_error("version", _("Choose a published version."))
        return data

    def filters(self) -> transparency.Filters:
        data = self.cleaned_data
        return transparency.Filters(
            spec=data.get("spec") or "",
            version=data.get("version") or "",
            since=data.get("since"),
            until=data.get("until"),
        )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "\u2013"
    hours = seconds / 3600
    if hours < 48:
        count = _count(hours)
        return ngettext("%(n)s hour", "%(n)s hours", count) % {"n": number_format(hours, 1)}
    days = hours / 24
    return ngettext("%(n)s day", "%(n)s days", _count(days)) % {"n": number_format(days, 1)}


def _count(value: float) -> int:
    """The whole number gettext chooses a plural form by, for `value` shown with one
    decimal: one for 1.0, more than one otherwise (1.5 hours, 0.5 hours)."""
    return 1 if round(value, 1) == 1 else 2


def _percent(rate: float | None) -> str:
    return "\u2013" if rate is None else f"{rate:.1f} %"


def _kind_label(key: str) -> str:
    return str(Kind(key).label) if key in Kind.values else key


def _state_label(key: str) -> str:
    return str(State(key).label) if key in State.values else key


def _authority_label(key: str) -> str:
    return key or _("none (grouping section)")


def _count_chart(section_id: str, title: str, heading: str, rows: list[dict], label) -> dict:
    bars = [Bar(label(row), row["count"], str(row["count"])) for row in rows]
    return {
        "id": section_id,
        "title": title,
        "heading": heading,
        "chart": bar_chart(
            chart_id=f"chart-{section_id}",
            title=title,
            description=_("Published feedback items, one bar each."),
            bars=bars,
            empty=_("No published feedback."),
        ),
        "rows": [{"label": bar.label, **row} for bar, row in zip(bars, rows, strict=True)],
    }


def _rate_chart(section_id: str, title: str, heading: str, rows: list[dict], label) -> dict:
    decided = [row for row in rows if row["decided"]]
    bars = [Bar(label(row), row["rate"], _percent(row["rate"])) for row in decided]
    return {
        "id": section_id,
        "title": title,
        "heading": heading,
        "chart": bar_chart(
            chart_id=f"chart-{section_id}",
            title=title,
            description=_(
                "Share of decided published items that were accepted (accepted or "
                "incorporated, among accepted, incorporated, declined and deferred)."
            ),
            bars=bars,
            empty=_("Nothing decided yet."),
        ),
        "rows": [{"label": label(row), "rate_text": _percent(row["rate"]), **row} for row in rows],
    }


def _context(data: dict) -> dict:
    totals, timing = data["totals"], data["timing"]
    headline = [
        Bar(_("Received"), totals["received"], str(totals["received"])),
        Bar(pgettext("feedback items", "Published"), totals["published"], str(totals["published"])),
        Bar(_("Withheld"), totals["withheld"], str(totals["withheld"])),
    ]
    timing_bars = [
        Bar(_("Triage, median"), (timing["triage"]["median"] or 0) / 3600,
            _duration(timing["triage"]["median"])),
        Bar(_("Triage, 90th percentile"), (timing["triage"]["p90"] or 0) / 3600,
            _duration(timing["triage"]["p90"])),
        Bar(_("Decision, median"), (timing["decision"]["median"] or 0) / 3600,
            _duration(timing["decision"]["median"])),
        Bar(_("Decision, 90th percentile"), (timing["decision"]["p90"] or 0) / 3600,
            _duration(timing["decision"]["p90"])),
    ]  # fmt: skip
    endorsement_rows = [row for row in data["by_kind"] if row["endorsements"]]
    endorsement_bars = [
        Bar(_kind_label(row["key"]), row["endorsements"], str(row["endorsements"]))
        for row in endorsement_rows
    ]
    computed_at = parse_datetime(data["computed_at"])
    return {
        "data": data,
        "computed_at": computed_at,
        "headline": {
            "chart": bar_chart(
                chart_id="chart-totals",
                title=_("Feedback received, published and withheld"),
                description=_(
                    "Withheld counts internal items and items hidden by moderators together."
                ),
                bars=headline,
            ),
        },
        "count_sections": [
            _count_chart("by-spec", _("Published feedback by spec"), _("Spec"),
                         data["by_spec"], lambda row: row["label"]),
            _count_chart("by-version", _("Published feedback by version"), _("Version"),
                         data["by_version"], lambda row: row["label"]),
            _count_chart("by-kind", _("Published feedback by kind"), _("Kind"),
                         data["by_kind"], lambda row: _kind_label(row["key"])),
            _count_chart("by-authority", _("Published feedback by authority level"),
                         _("Authority level"), data["by_authority"],
                         lambda row: _authority_label(row["key"])),
            _count_chart("by-state", _("Published feedback by state"), _("State"),
                         data["by_state"], lambda row: _state_label(row["key"])),
        ],
        "timing": {
            "chart": bar_chart(
                chart_id="chart-timing",
                title=_("Time to triage and to decision"),
                description=_("From receipt, over published items that got there."),
                bars=timing_bars,
            ),
            "rows": [
                {"label": _("Triage"), "count": timing["triage"]["count"],
                 "median": _duration(timing["triage"]["median"]),
                 "p90": _duration(timing["triage"]["p90"])},
                {"label": _("Decision"), "count": timing["decision"]["count"],
                 "median": _duration(timing["decision"]["median"]),
                 "p90": _duration(timing["decision"]["p90"])},
            ],
        },
        "rate_sections": [
            _rate_chart("rate-kind", _("Acceptance rate by kind"), _("Kind"),
                        data["by_kind"], lambda row: _kind_label(row["key"])),
            _rate_chart("rate-authority", _("Acceptance rate by authority level"),
                        _("Authority level"), data["by_authority"],
                        lambda row: _authority_label(row["key"])),
        ],
        "acceptance_text": _percent(data["acceptance"]["rate"]),
        "endorsements": {
            "chart": bar_chart(
                chart_id="chart-endorsements",
                title=_("Endorsements by kind"),
                description=_("“Me too” endorsements of published items."),
                bars=endorsement_bars,
                empty=_("No endorsements yet."),
            ),
            "rows": [
                {"label": bar.label, "count": row["endorsements"]}
                for bar, row in zip(endorsement_bars, endorsement_rows, strict=True)
            ],
        },
    }  # fmt: skip


@require_GET
def transparency_dashboard(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET or None, versions=transparency.version_choices())
    if request.GET and not form.is_valid():
        return render(request, TEMPLATE, {"form": form}, status=400)
    filters = form.filters() if request.GET else transparency.Filters()
    data = transparency.dashboard_get(filters)
    return render(request, TEMPLATE, {"form": form, "filtered": not filters.is_default,
                                      **_context(data)})  # fmt: skip
