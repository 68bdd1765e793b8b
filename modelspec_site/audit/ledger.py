"""The auditor's ledger list: filters, bounded search and keyset pagination (a selector).

Newest first, paged by `seq` (``before``). Time bounds become `seq` bounds through the
``created_at`` index (times follow the chain order). Filters the indexes serve directly
(subject: GIN on ``subjects``; time: btree) scan as far as needed; filters and the text search
that would otherwise read the whole table (actor, action prefix, visibility, ``q``) look at a
window of at most `SCAN_WINDOW` events per page and say which events were searched, with a link
to go on searching older ones. The ledger's append path therefore carries no extra index."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.db.models import Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from modelspec_site.audit import chain
from modelspec_site.audit.models import Event, Visibility

PAGE_SIZE = 50
SCAN_WINDOW = 100_000
# The filters recorded in the `audit.viewed` event and kept in links.
FILTER_NAMES = ("start", "end", "actor", "action", "subject_type", "subject_id", "visibility", "q")


class LedgerFilterForm(forms.Form):
    start = forms.DateTimeField(
        label=_("From"),
        required=False,
        help_text=_("Date, or date and time (UTC)."),
        input_formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    end = forms.DateTimeField(
        label=_("Until"),
        required=False,
        help_text=_("Up to and including this day or time (UTC)."),
        input_formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    actor = forms.CharField(
        label=_("Actor"), required=False, max_length=150, help_text=_("Exact label.")
    )
    action = forms.RegexField(
        label=_("Action"),
        required=False,
        max_length=100,
        regex=r"^[a-z_]+(\.[a-z_]+)*\.?$",
        help_text=_("An action or a prefix: “audit” finds audit.viewed and audit.exported."),
        error_messages={"invalid": _("Lowercase words separated by dots, e.g. feedback.")},
    )
    subject_type = forms.RegexField(
        label=_("Subject type"),
        required=False,
        max_length=100,
        regex=chain.SUBJECT_TYPE_RE.pattern,
        help_text=_("e.g. feedback.feedbackitem"),
        error_messages={"invalid": _("Write it as app_label.model_name.")},
    )
    subject_id = forms.CharField(label=_("Subject id"), required=False, max_length=100)
    visibility = forms.ChoiceField(
        label=_("Visibility"),
        required=False,
        choices=[("", _("Any")), *Visibility.choices],
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Text in the actor, action, subjects or data."),
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("subject_id") and not data.get("subject_type"):
            self.add_error("subject_id", _("Give the subject type too."))
        start, end = data.get("start"), data.get("end")
        raw_end = self.data.get("end", "")
        if end is not None and len(raw_end.strip()) == 10:  # a day: include all of it
            data["end"] = end = end + dt.timedelta(days=1)
        elif end is not None:
            data["end"] = end = end + dt.timedelta(microseconds=1)
        if start and end and start >= end:
            self.add_error("end", _("Must be after the start."))
        for name in ("start", "end"):
            value = data.get(name)
            if value is not None and timezone.is_naive(value):
                data[name] = timezone.make_aware(value, dt.UTC)
        return data

    def used_filters(self) -> dict[str, str]:
        """The filters as given (text), without the empty ones: for the ledger event and links."""
        return {
            name: self.data.get(name, "").strip()
            for name in FILTER_NAMES
            if self.data.get(name, "").strip()
        }


@dataclass
class LedgerPage:
    events: list[Event]
    next_before: int | None = None  # more results older than these
    searched_from: int | None = None  # a bounded scan looked at seq [searched_from, searched_to]
    searched_to: int | None = None
    more_to_search: bool = False
    filters: dict[str, str] = field(default_factory=dict)


def _action_q(action: str) -> Q:
    if action.endswith("."):
        return Q(action__startswith=action)
    return Q(action=action) | Q(action__startswith=action + ".")


def ledger_page(events: QuerySet[Event], data: dict, *, page_size: int = PAGE_SIZE) -> LedgerPage:
    """One page of `events` (already limited to what the viewer may see) under the cleaned
    filters `data` of a `LedgerFilterForm`."""
    upper = data.get("before")  # exclusive
    lower = 1
    if data.get("end") is not None:
        last = events.filter(created_at__lt=data["end"]).aggregate(m=Max("seq"))["m"]
        upper = min(upper or last + 1, last + 1) if last else 1
    if data.get("start") is not None:
        first = events.filter(created_at__gte=data["start"]).aggregate(m=Min("seq"))["m"]
        lower = first if first else (upper or 1)
    if upper is None:
        upper = (events.aggregate(m=Max("seq"))["m"] or 0) + 1
    bounded = any(data.get(name) for name in ("actor", "action", "visibility", "q"))
    scan_lower = max(lower, upper - SCAN_WINDOW) if bounded else lower

    query = events.filter(seq__gte=scan_lower, seq__lt=upper)
    if data.get("actor"):
        query = query.filter(actor_label=data["actor"])
    if data.get("action"):
        query = query.filter(_action_q(data["action"]))
    if data.get("visibility"):
        query = query.filter(visibility=data["visibility"])
    if data.get("subject_type"):
        ref = {"type": data["subject_type"]}
        if data.get("subject_id"):
            ref["id"] = data["subject_id"]
        query = query.filter(subjects__contains=[ref])
    if data.get("q"):
        text = data["q"]
        query = query.filter(
            Q(actor_label__icontains=text)
            | Q(action__icontains=text)
            | Q(subjects__icontains=text)  # jsonb cast to text: labels, types, ids
            | Q(data__icontains=text)
        )
    rows = list(query.order_by("-seq")[: page_size + 1])
    page = LedgerPage(events=rows[:page_size])
    if len(rows) > page_size:
        page.next_before = rows[page_size - 1].seq
    elif bounded and scan_lower > lower:
        page.more_to_search = True
        page.next_before = scan_lower
    if bounded:
        page.searched_from, page.searched_to = scan_lower, upper - 1
    return page
