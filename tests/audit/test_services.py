"""audit_record: who, what, chaining, and living inside the caller's transaction."""

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.db import transaction

from modelspec_site.audit import chain
from modelspec_site.audit.models import Event
from modelspec_site.audit.services import audit_record
from modelspec_site.audit.verify import audit_verify

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_ledger")]


class Boom(Exception):
    pass


def test_records_one_event_with_the_actor_and_subjects(user):
    group = Group.objects.create(name="editors-<b>")
    event = audit_record(
        actor=user,
        action="role.granted",
        subjects=[group, {"type": "revisions.version", "id": "42", "label": "2025-09-12"}],
        data={"role": "editor"},
        visibility="internal",
    )
    stored = Event.objects.get()
    assert stored.seq == event.seq == 1
    assert stored.prev_hash == chain.GENESIS_HASH
    assert (stored.actor_id, stored.actor_kind, stored.actor_label) == (user.pk, "user", "alice")
    assert stored.action == "role.granted"
    assert stored.subjects == [
        {"type": "auth.group", "id": str(group.pk), "label": "editors-<b>"},
        {"type": "revisions.version", "id": "42", "label": "2025-09-12"},
    ]
    assert (stored.visibility, stored.data) == ("internal", {"role": "editor"})
    assert stored.hash == event.hash == chain.event_hash(stored.chain_fields())
    assert stored.created_at == event.created_at


@pytest.mark.parametrize(
    ("actor", "kind", "label"),
    [
        (None, "system", "system"),
        ("system", "system", "system"),
        ("anonymous", "anonymous", "anonymous"),
        (AnonymousUser(), "anonymous", "anonymous"),
    ],
)
def test_non_user_actors(actor, kind, label):
    event = audit_record(actor=actor, action="feedback.received")
    assert (event.actor_id, event.actor_kind, event.actor_label) == (None, kind, label)
    assert (event.subjects, event.data, event.visibility) == ([], {}, "public")


def test_events_chain_contiguously(user):
    events = [audit_record(actor=user, action="test.done", data={"i": i}) for i in range(5)]
    assert [event.seq for event in events] == [1, 2, 3, 4, 5]
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
        assert after.created_at >= before.created_at
    result = audit_verify()
    assert (result.ok, result.count, result.head_hash) == (True, 5, events[-1].hash)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "Published"}, "namespaced"),
        ({"action": "version.published", "data": {"score": 0.9}}, "floats"),
        ({"action": "version.published", "data": ["not", "a", "dict"]}, "JSON object"),
        ({"action": "version.published", "visibility": "secret"}, "visibility"),
        ({"action": "version.published", "subjects": ["revisions.version:42"]}, "subjects"),
        ({"action": "version.published", "subjects": [{"id": "1"}]}, "exactly the keys"),
        ({"action": "version.published", "actor": "robot"}, "actor must be"),
    ],
)
def test_invalid_input_raises_and_writes_nothing(kwargs, message):
    kwargs = {"actor": None} | kwargs
    with pytest.raises(ValueError, match=message):
        audit_record(**kwargs)
    assert not Event.objects.exists()


def test_unsaved_subjects_and_actors_are_refused():
    with pytest.raises(ValueError, match="not saved"):
        audit_record(actor=None, action="group.created", subjects=[Group(name="x")])
    with pytest.raises(ValueError, match="saved user"):
        audit_record(actor=get_user_model()(username="ghost"), action="group.created")
    assert not Event.objects.exists()


def test_an_exception_after_recording_rolls_back_the_change_and_the_event(user):
    with pytest.raises(Boom), transaction.atomic():
        Group.objects.create(name="reviewers")
        audit_record(actor=user, action="group.created", data={"name": "reviewers"})
        raise Boom
    assert not Group.objects.exists()
    assert not Event.objects.exists()
    # The chain has no hole: the next event takes position 1.
    assert audit_record(actor=user, action="group.created").seq == 1
    assert audit_verify().ok


def test_an_exception_between_the_change_and_the_event_rolls_back_the_change(user):
    with pytest.raises(Boom), transaction.atomic():
        Group.objects.create(name="reviewers")
        raise Boom
    assert not Group.objects.exists()
    assert not Event.objects.exists()


def test_events_survive_their_actor_being_deleted(user):
    event = audit_record(actor=user, action="account.created")
    user_id = user.pk
    user.delete()
    stored = Event.objects.get()
    assert (stored.actor_id, stored.actor_label) == (user_id, "alice")
    assert stored.hash == event.hash
    assert audit_verify().ok


def test_many_events_append_in_order_and_verify(user):
    from modelspec_site.audit.services import EventSpec, audit_record_many

    with transaction.atomic():
        audit_record(actor=user, action="spec.created", data={"n": 0})
        events = audit_record_many(
            EventSpec(actor="system", action="feedback.carried", data={"n": n})
            for n in range(1, 2501)
        )
    assert [e.seq for e in events] == list(range(2, 2502))
    assert Event.objects.count() == 2501
    assert list(Event.objects.order_by("seq").values_list("data__n", flat=True)[:3]) == [0, 1, 2]
    assert audit_verify().ok


def test_many_events_refuse_bad_data_before_writing_anything(user):
    from modelspec_site.audit.services import EventSpec, audit_record_many

    with pytest.raises(ValueError), transaction.atomic():
        audit_record_many(
            [
                EventSpec(actor="system", action="feedback.carried", data={"n": 1}),
                EventSpec(actor="system", action="feedback.carried", data={"x": 1.5}),
            ]
        )
    assert Event.objects.count() == 0
