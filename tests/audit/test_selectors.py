"""Who sees which events: public ones for everybody, all of them for auditors."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from modelspec_site.audit.selectors import event_list, event_list_for_subject
from modelspec_site.audit.services import audit_record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]


@pytest.fixture
def recorded():
    first, second = Group.objects.create(name="one"), Group.objects.create(name="two")
    return {
        "first": first,
        "second": second,
        "events": [
            audit_record(actor=None, action="group.created", subjects=[first]),
            audit_record(actor=None, action="group.noted", subjects=[first], visibility="internal"),
            audit_record(actor=None, action="group.created", subjects=[second, first]),
            audit_record(actor=None, action="group.created", subjects=[second]),
        ],
    }


def seqs(queryset) -> list[int]:
    return list(queryset.values_list("seq", flat=True))


def test_everybody_but_auditors_sees_only_public_events(recorded, user, auditor):
    for viewer in (AnonymousUser(), user):
        assert seqs(event_list(viewer=viewer)) == [1, 3, 4]
    assert seqs(event_list(viewer=auditor)) == [1, 2, 3, 4]


def test_events_about_one_subject(recorded, user, auditor):
    first = recorded["first"]
    assert seqs(event_list_for_subject(first, viewer=user)) == [1, 3]
    assert seqs(event_list_for_subject(first, viewer=auditor)) == [1, 2, 3]
    by_ref = {"type": "auth.group", "id": recorded["second"].pk}
    assert seqs(event_list_for_subject(by_ref, viewer=user)) == [3, 4]
    assert seqs(event_list_for_subject({"type": "auth.user", "id": "1"}, viewer=auditor)) == []
