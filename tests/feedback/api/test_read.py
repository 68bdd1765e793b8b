"""GET /api/v1/feedback/ and /api/v1/feedback/{tracking_number}/: what each viewer sees,
filters as an allowlist, cursor pagination, full-text search, moderation."""

import base64
import json
from itertools import chain
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from feedback.api.selectors import ORDERINGS
from feedback.models import FeedbackItem
from feedback.queue import queue_annotate
from feedback.services import feedback_hide

from .conftest import CLAUSE, PASSAGE, URL

pytestmark = pytest.mark.django_db

PRIVATE_KEYS = {
    "submitter_email", "follow_token", "follow_token_hash", "report_count", "submitter",
    "submitter_id", "ip", "updated_at", "search",
}  # fmt: skip


def _numbers(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [item["tracking_number"] for item in response.json()["results"]]


@pytest.fixture
def moderator(make_user):
    return make_user("mod", roles=["moderator"], is_staff=True)


@pytest.fixture
def signed_in(make_user) -> Client:
    commenter = Client()
    commenter.force_login(make_user("commenter"))
    return commenter


def test_an_item_shows_its_public_fields_and_nothing_private(anonymous, file_item, version):
    item = file_item(
        passage=True,
        submitter_name="Ada",
        submitter_email="ada-private@example.org",
        affiliation="Lab",
        severity="high",
    )
    body = anonymous.get(f"{URL}{item.tracking_number}/")
    assert body.status_code == 200
    data = body.json()
    assert set(data) == {
        "tracking_number", "url", "html_url", "spec", "version", "clause", "authority",
        "example", "quote", "kind", "severity", "state", "summary", "body", "suggested_text",
        "example_conversation", "affiliation", "conflict_of_interest", "submitter_name",
        "hidden", "hidden_reason", "endorsement_count", "created_at", "current",
    }  # fmt: skip
    assert (data["spec"], data["version"], data["clause"], data["authority"]) == (
        "model-spec",
        "2025-09-12",
        CLAUSE,
        "root",
    )
    assert data["quote"]["exact"] == PASSAGE
    assert data["quote"]["end"] - data["quote"]["start"] == len(PASSAGE)
    assert (data["hidden"], data["hidden_reason"], data["submitter_name"]) == (False, None, "Ada")
    assert data["url"] == f"http://testserver{URL}{item.tracking_number}/"
    assert data["html_url"] == f"http://testserver/feedback/{item.tracking_number}/"
    assert "ada-private@example.org" not in body.content.decode()
    assert not PRIVATE_KEYS & set(data)


def test_internal_items_do_not_exist_for_the_public(
    anonymous, signed_in, staff_client, file_item, make_user
):
    staff_user = make_user("insider", roles=["triager"], is_staff=True)
    public = file_item(summary="public words")
    internal = file_item(acting_user=staff_user, visibility="internal", summary="internal words")
    for viewer in (anonymous, signed_in):
        assert _numbers(viewer.get(URL)) == [public.tracking_number]
        hidden = viewer.get(f"{URL}{internal.tracking_number}/")
        missing = viewer.get(f"{URL}MS-2025-99999/")
        malformed = viewer.get(f"{URL}nonsense%00/")
        assert hidden.status_code == missing.status_code == malformed.status_code == 404
        assert hidden.content == missing.content == malformed.content
        assert hidden.json() == {"code": "not_found", "detail": "Not found."}
        assert _numbers(viewer.get(URL, {"q": "internal"})) == []
        assert _numbers(viewer.get(URL, {"state": "received"})) == [public.tracking_number]
        endorse = viewer.post(f"{URL}{internal.tracking_number}/endorse/")
        assert endorse.status_code == 404
        assert "internal words" not in viewer.get(URL).content.decode()

    staff = staff_client("triager")
    assert _numbers(staff.get(URL)) == [internal.tracking_number, public.tracking_number]
    detail = staff.get(f"{URL}{internal.tracking_number}/").json()
    assert (detail["visibility"], detail["summary"]) == ("internal", "internal words")
    assert staff.get(f"{URL}{public.tracking_number}/").json()["visibility"] == "public"
    assert "visibility" not in anonymous.get(f"{URL}{public.tracking_number}/").json()


def test_hidden_items_keep_their_number_and_state_but_not_their_words_or_place(
    anonymous, staff_client, file_item, moderator
):
    item = file_item(
        passage=True,
        summary="abusive summary",
        body="abusive body",
        suggested_text="abusive suggestion",
        example_conversation=[{"role": "user", "content": "abusive turn", "label": None}],
        affiliation="abusive affiliation",
        conflict_of_interest="abusive disclosure",
        submitter_name="abusive name",
    )
    feedback_hide(acting_user=moderator, item=item, reason="Personal attack.")
    detail = anonymous.get(f"{URL}{item.tracking_number}/")
    listed = anonymous.get(URL)
    for data in (detail.json(), listed.json()["results"][0]):
        assert data["tracking_number"] == item.tracking_number
        assert (data["hidden"], data["hidden_reason"]) == (True, "Personal attack.")
        for name in (
            "summary", "body", "quote", "suggested_text", "example_conversation",
            "affiliation", "conflict_of_interest", "submitter_name",
            "clause", "authority", "example", "kind", "severity",
        ):  # fmt: skip
            assert data[name] is None, name
        # As on the HTML pages: the number, the state and the version stay.
        assert (data["state"], data["version"]) == ("received", item.version.label)
    for response in (detail, listed):
        assert "abusive" not in response.content.decode()
    # Nothing withheld can be found by searching or filtering on it.
    assert _numbers(anonymous.get(URL, {"q": "abusive"})) == []
    assert _numbers(anonymous.get(URL, {"has_passage": "true"})) == []
    assert _numbers(anonymous.get(URL, {"has_passage": "false"})) == [item.tracking_number]
    for probe in ({"clause": CLAUSE}, {"kind": "unclear"}):
        assert _numbers(anonymous.get(URL, probe)) == [], probe
    # Moderators (staff) still read it.
    staff = staff_client("moderator", username="mod2")
    assert staff.get(f"{URL}{item.tracking_number}/").json()["summary"] == "abusive summary"
    assert _numbers(staff.get(URL, {"q": "abusive"})) == [item.tracking_number]


def test_filters(anonymous, file_item, version):
    from revisions.models import ClauseText

    guideline = ClauseText.objects.filter(version=version, authority="guideline").first()
    older = file_item(clause=CLAUSE, kind="disagree", passage=True)
    other = file_item(clause=guideline.anchor, kind="editorial")
    FeedbackItem.objects.filter(pk=other.pk).update(state="triaged")

    def numbers(**params):
        return set(_numbers(anonymous.get(URL, params)))

    everything = {older.tracking_number, other.tracking_number}
    assert numbers() == everything
    assert numbers(spec="model-spec", version="2025-09-12") == everything
    assert numbers(spec="other-spec") == set()
    assert numbers(version="2025-04-11") == set()
    assert numbers(clause=CLAUSE) == {older.tracking_number}
    assert numbers(kind="editorial") == {other.tracking_number}
    assert numbers(state="triaged") == {other.tracking_number}
    assert numbers(state="received") == {older.tracking_number}
    assert numbers(authority="root") == {older.tracking_number}
    assert numbers(authority="guideline") == {other.tracking_number}
    assert numbers(has_passage="true") == {older.tracking_number}
    assert numbers(has_passage="false") == {other.tracking_number}


def test_full_text_search(anonymous, file_item):
    french = file_item(summary="Responding in French", body="Languages and translations.")
    later = file_item(summary="Later instructions", body="Ordering of instructions matters.")
    quoted = file_item(summary="About a passage", passage=True)

    def search(q):
        return set(_numbers(anonymous.get(URL, {"q": q})))

    assert search("french") == {french.tracking_number}
    assert search("translation") == {french.tracking_number}  # stemmed
    assert search("instruction") == {later.tracking_number, quoted.tracking_number}
    assert search('"later instructions"') == {later.tracking_number, quoted.tracking_number}
    assert search('"instructions matters"') == {later.tracking_number}
    assert search("instructions -ordering") == {quoted.tracking_number}
    assert search("french or ordering") == {french.tracking_number, later.tracking_number}
    assert search("") == {french.tracking_number, later.tracking_number, quoted.tracking_number}
    assert search("zzzunknownword") == set()
    # Odd input is just words, never an error.
    for q in ("'\"&|!():*", "a & b | !c", "<->", "\\", "é" * 200):
        assert anonymous.get(URL, {"q": q}).status_code == 200, q


@pytest.mark.parametrize(
    "params",
    [
        {"submitter_email": "a@example.org"},
        # `visibility` is a staff filter now; tests/feedback/api/test_staff_filters.py checks
        # the public is refused it.
        {"submitter": "1"},
        {"hidden": "true"},
        {"report_count__gt": "0"},
        {"follow_token_hash__startswith": "a"},
        {"summary__contains": "x"},
        {"search": "x"},
        {"format": "json"},
        {"page": "2"},
        {"Kind": "editorial"},
        {"q\x00": "x"},
    ],
    ids=lambda p: next(iter(p)),
)
def test_unknown_parameters_are_refused(anonymous, staff_client, file_item, params):
    file_item()
    for viewer in (anonymous, staff_client("triager")):
        response = viewer.get(URL, params)
        assert response.status_code == 400
        assert response.json()["code"] == "unknown_parameter"
        assert list(response.json()["errors"]) == [next(iter(params)).replace("\x00", "\\x00")]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "complaint"}, "kind"),
        ({"state": "secret"}, "state"),
        ({"ordering": "summary"}, "ordering"),
        ({"ordering": "-report_count"}, "ordering"),
        ({"has_passage": "maybe"}, "has_passage"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "101"}, "page_size"),
        ({"q": "a\x00b"}, "q"),
        ({"clause": "x" * 129}, "clause"),
    ],
)
def test_bad_parameter_values_are_400(anonymous, params, field):
    response = anonymous.get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == [field]


def test_a_parameter_given_twice_is_refused(anonymous):
    response = anonymous.get(f"{URL}?kind=editorial&kind=unclear")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["kind"]


def _walk(client, url):
    """Follow `next` to the end: the pages' tracking numbers, and the last response."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(_numbers(response))
        url = response.json()["next"]
    return pages


def test_cursor_pagination_walks_every_item_once_in_each_order(anonymous, file_item):
    items = [file_item(summary=f"item {n}") for n in range(7)]
    counts = [0, 2, 2, 1, 0, 2, 0]  # ties on the count: the order falls back to newest
    for item, endorsements in zip(items, counts, strict=True):
        FeedbackItem.objects.filter(pk=item.pk).update(endorsement_count=endorsements)
    newest = [item.tracking_number for item in reversed(items)]

    pages = _walk(anonymous, f"{URL}?page_size=3")
    assert pages == [newest[0:3], newest[3:6], newest[6:]]
    pages = _walk(anonymous, f"{URL}?page_size=3&ordering=oldest")
    assert list(chain.from_iterable(pages)) == newest[::-1]
    pages = _walk(anonymous, f"{URL}?page_size=2&ordering=most_endorsed")
    by_count = [items[n].tracking_number for n in (5, 2, 1, 3, 6, 4, 0)]
    assert list(chain.from_iterable(pages)) == by_count
    assert [len(page) for page in pages] == [2, 2, 2, 1]


def test_previous_links_walk_back(anonymous, file_item):
    items = [file_item(summary=f"item {n}") for n in range(5)]
    newest = [item.tracking_number for item in reversed(items)]
    first = anonymous.get(URL, {"page_size": 2}).json()
    assert first["previous"] is None
    second = anonymous.get(first["next"]).json()
    third = anonymous.get(second["next"]).json()
    assert [i["tracking_number"] for i in third["results"]] == newest[4:]
    assert third["next"] is None
    back = anonymous.get(third["previous"]).json()
    assert [i["tracking_number"] for i in back["results"]] == newest[2:4]
    back = anonymous.get(back["previous"]).json()
    assert [i["tracking_number"] for i in back["results"]] == newest[0:2]
    assert back["previous"] is None
    assert back["next"]


def test_links_keep_the_filters(anonymous, file_item):
    for n in range(3):
        file_item(summary=f"french {n}")
    file_item(summary="other")
    first = anonymous.get(URL, {"q": "french", "page_size": 2}).json()
    query = parse_qs(urlsplit(first["next"]).query)
    assert (query["q"], query["page_size"]) == (["french"], ["2"])
    assert len(anonymous.get(first["next"]).json()["results"]) == 1


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJvIjoibmV3ZXN0In0", "%00", "e30", "W10"], ids=repr
)
def test_bad_cursors_are_400(anonymous, file_item, cursor):
    file_item()
    response = anonymous.get(f"{URL}?cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_cursor", "invalid"}


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "key",
    [
        ["2025-09-20T10:15:00", 1],  # naive time
        ["2025-09-20T10:15:00+00:00", 2**70],
        ["2025-09-20T10:15:00+00:00", -1],
        ["2025-09-20T10:15:00+00:00", 1.5],
        ["2025-09-20T10:15:00+00:00", True],
        ["not a time", 1],
        [12, 1],
        ["2025-09-20T10:15:00+00:00"],
    ],
    ids=repr,
)
def test_forged_cursors_are_400(anonymous, file_item, key):
    file_item()
    response = anonymous.get(URL, {"cursor": _cursor({"o": "newest", "k": key, "b": False})})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_a_cursor_from_another_ordering_is_refused(anonymous, file_item):
    for _ in range(3):
        file_item()
    next_url = anonymous.get(URL, {"page_size": 1}).json()["next"]
    cursor = parse_qs(urlsplit(next_url).query)["cursor"][0]
    response = anonymous.get(URL, {"cursor": cursor, "ordering": "oldest"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("viewer", ["anonymous", "staff"])
def test_the_query_count_does_not_grow_with_the_page(
    anonymous, staff_client, file_item, moderator, django_assert_max_num_queries, viewer
):
    client = anonymous if viewer == "anonymous" else staff_client("triager")
    for n in range(3):
        file_item(summary=f"item {n}", passage=True)
    client.get(URL)  # the session and roles of a signed-in client are loaded once
    with django_assert_max_num_queries(4) as few:
        assert len(_numbers(client.get(URL))) == 3
    for n in range(30):
        item = file_item(
            summary=f"more {n}",
            passage=n % 2 == 0,
            example_conversation=[{"role": "user", "content": "hi", "label": None}],
        )
        if n % 5 == 0:
            feedback_hide(acting_user=moderator, item=item, reason="r")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(_numbers(client.get(URL, {"page_size": 25}))) == 25
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(f"{URL}{item.tracking_number}/")


@pytest.mark.parametrize(
    ("ordering", "staff"),
    [("newest", False), ("oldest", False), ("most_endorsed", False), ("waiting", True),
     ("severity", True)],
)  # fmt: skip
def test_every_ordering_pages_through_exact_ties_both_ways(
    anonymous, staff_client, file_item, ordering, staff
):
    """Exact ties on the count, the filing time and the severity: each page starts right after
    the last row of the one before (a row comparison over the whole key, or the lexicographic
    form for the mixed-direction orders), nothing skipped or repeated, and back again."""
    client = staff_client("triager") if staff else anonymous
    items = [file_item(summary=f"tied {n}") for n in range(10)]
    moments = sorted({item.created_at for item in items})[:3]
    for n, item in enumerate(items):
        FeedbackItem.objects.filter(pk=item.pk).update(
            created_at=moments[n % 3],
            endorsement_count=[0, 3, 0, 1][n % 4],
            severity=["low", "high"][n % 2],
        )
    expected = list(
        queue_annotate(FeedbackItem.objects.all())
        .order_by(*ORDERINGS[ordering])
        .values_list("tracking_number", flat=True)
    )
    assert len(expected) == 10
    pages = _walk(client, f"{URL}?page_size=3&ordering={ordering}")
    assert list(chain.from_iterable(pages)) == expected
    assert [len(page) for page in pages] == [3, 3, 3, 1]
    # Back from the last page by the `previous` links.
    last = client.get(f"{URL}?page_size=3&ordering={ordering}")
    while last.json()["next"]:
        last = client.get(last.json()["next"])
    back, url = [], last.json()["previous"]
    while url:
        response = client.get(url)
        back = _numbers(response) + back
        url = response.json()["previous"]
    assert back + _numbers(last) == expected
