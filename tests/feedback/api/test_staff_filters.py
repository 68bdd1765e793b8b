"""The triage queue's filters on GET /api/v1/feedback/: staff use them through feedback.queue;
the public cannot (400 `unknown_parameter`) and sees nothing internal; the staff schema
documents them and the public one does not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from feedback.models import FeedbackItem, Label, State

pytestmark = pytest.mark.django_db

URL = "/api/v1/feedback/"
LABEL = "2025-09-12"


@pytest.fixture
def make_item(db):
    from revisions.models import Version
    from tests.feedback.queue.conftest import clause_of_rank

    version = Version.objects.select_related("spec").get(spec__slug="model-spec", label=LABEL)
    counter = iter(range(1, 1000))

    def make(*, rank=3, filed=0, changed=None, labels=(), **fields):
        clause = clause_of_rank(version, rank)
        fields.setdefault("tracking_number", f"MS-2032-{next(counter):05d}")
        item = FeedbackItem.objects.create(
            spec=version.spec, version=version, clause=clause.clause, clause_text=clause,
            kind=fields.pop("kind", "unclear"), summary=fields.pop("summary", "An item"), **fields,
        )  # fmt: skip
        now = timezone.now()
        FeedbackItem.objects.filter(pk=item.pk).update(
            created_at=now - dt.timedelta(days=filed),
            state_changed_at=None if changed is None else now - dt.timedelta(days=changed),
        )
        for name in labels:
            item.labels.add(Label.objects.get_or_create(name=name)[0])
        return item

    return make


def numbers(client, **query) -> list[str]:
    response = client.get(URL, query)
    assert response.status_code == 200, response.json()
    return [row["tracking_number"] for row in response.json()["results"]]


def test_staff_filter_the_list_like_the_queue(
    make_item, staff_client, make_user, django_user_model
):
    client = staff_client("triager", username="me")
    other = make_user("other", roles=["reviewer"], is_staff=True)
    mine = make_item(assignee=django_user_model.objects.get(username="me"), filed=1)
    theirs = make_item(assignee=other, filed=2, labels=["urgent"])
    internal = make_item(visibility="internal", filed=3, endorsement_count=4)
    old = make_item(filed=30, severity="critical", rank=0)
    spam = make_item(state=State.SPAM, changed=1, filed=1)
    assert numbers(client, assignee="me") == [mine.tracking_number]
    assert numbers(client, assignee="other") == [theirs.tracking_number]
    assert set(numbers(client, assignee="none")) == {internal.tracking_number,
                                                     old.tracking_number, spam.tracking_number}  # fmt: skip
    assert numbers(client, label="urgent") == [theirs.tracking_number]
    assert numbers(client, visibility="internal") == [internal.tracking_number]
    assert numbers(client, endorsements="4") == [internal.tracking_number]
    assert numbers(client, age="10") == [old.tracking_number]
    assert numbers(client, rank="0") == [old.tracking_number]
    assert numbers(client, state="spam") == [spam.tracking_number]
    assert set(numbers(client, state="active")) == {mine.tracking_number, theirs.tracking_number,
                                                    internal.tracking_number, old.tracking_number}  # fmt: skip
    assert set(numbers(client, state="received,spam")) == {
        i.tracking_number for i in (mine, theirs, internal, old, spam)
    }
    # The queue's sorts, for staff: oldest waiting first; most severe first.
    waiting = numbers(client, state="active", ordering="waiting")
    assert waiting == [old.tracking_number, internal.tracking_number, theirs.tracking_number,
                       mine.tracking_number]  # fmt: skip
    assert numbers(client, ordering="severity")[0] == old.tracking_number
    # Cursor pages in the queue's order hold every item once.
    seen, url = [], f"{URL}?ordering=waiting&page_size=2"
    while url:
        data = client.get(url).json()
        seen += [row["tracking_number"] for row in data["results"]]
        url = (data["next"] or "").replace("http://testserver", "")
    assert seen == numbers(client, ordering="waiting", page_size="100")
    # Bad values are 400s naming the field, never 500s.
    for name, value in (("state", "bogus"), ("age", "-3"), ("assignee", "a b"),
                        ("endorsements", "many"), ("visibility", "secret")):  # fmt: skip
        response = client.get(URL, {name: value})
        assert response.status_code == 400, (name, value)
        assert name in response.json()["errors"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("assignee", "none"), ("assignee", "me"), ("label", "urgent"), ("visibility", "public"),
     ("endorsements", "0"), ("age", "0"), ("rank", "0")],
)  # fmt: skip
def test_the_public_cannot_use_staff_filters(make_item, make_user, name, value):
    make_item(labels=["urgent"])
    signed_in = Client()
    signed_in.force_login(make_user("commenter"))
    for client in (Client(), signed_in):
        response = client.get(URL, {name: value})
        assert response.status_code == 400
        assert response.json()["code"] == "unknown_parameter"
        assert name in response.json()["errors"]


def test_the_public_keeps_its_filters_and_sees_nothing_internal(make_item):
    public = make_item(filed=2)
    make_item(visibility="internal", filed=1)
    spam = make_item(state=State.SPAM, changed=0)
    client = Client()
    assert set(numbers(client)) == {public.tracking_number, spam.tracking_number}
    assert numbers(client, state="received,triaged") == [public.tracking_number]
    assert numbers(client, state="closed") == [spam.tracking_number]
    for ordering in ("waiting", "severity"):
        response = client.get(URL, {"ordering": ordering})
        assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_schemas_document_staff_filters_for_staff_only(staff_client):
    staff_names = {"assignee", "label", "visibility", "endorsements", "age", "rank"}
    public = Client().get("/api/schema/?format=json").json()
    listing = public["paths"]["/api/v1/feedback/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert not names & staff_names
    ordering = next(p for p in listing["parameters"] if p["name"] == "ordering")
    assert set(ordering["schema"]["enum"]) == {"newest", "oldest", "most_endorsed"}
    schema = staff_client("auditor").get("/api/schema/staff/?format=json").json()
    listing = schema["paths"]["/api/v1/feedback/"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert staff_names <= set(params)
    assert set(params["ordering"]["schema"]["enum"]) >= {"waiting", "severity"}
