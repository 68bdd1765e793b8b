"""Reading the ledger. Every queryset of events that reaches a viewer comes from here."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from django.db.models import QuerySet

from modelspec_site.accounts.roles import AUDITOR, has_role
from modelspec_site.audit.models import Event, Visibility


def event_list(*, viewer) -> QuerySet[Event]:
    """The events `viewer` may see: all of them for auditors, the public ones for anyone else."""
    events = Event.objects.all()
    if not has_role(viewer, AUDITOR):
        events = events.filter(visibility=Visibility.PUBLIC)
    return events


def event_list_for_subject(subject: models.Model | Mapping[str, str], *, viewer) -> QuerySet[Event]:
    """The events about one object (a model instance or a {type, id} reference), oldest first."""
    if isinstance(subject, models.Model):
        ref = {"type": subject._meta.label_lower, "id": str(subject.pk)}
    else:
        ref = {"type": str(subject["type"]), "id": str(subject["id"])}
    return event_list(viewer=viewer).filter(subjects__contains=[ref]).order_by("seq")
