"""The tracker: filters from allowlists, full-text search, sorting, cursor pagination that
keeps the filters, an htmx partial of the results, and a query count that does not grow."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback import listing
from feedback.models import FeedbackItem
from feedback.services import feedback_endorse, feedback_hide

pytestmark = pytest.mark.django_db

URL = "/feedback/"


def numbers(response) -> list[str]:
    return re.findall(r'class="fb-row-number">([A-Z]+-\d{4}-\d{5})<', response.content.decode())


@pytest.fixture
def items(file_item):
    """Five public items on two clauses, kinds and states of their own."""
    made = [
        file_item(summary="Intent is unclear", body="What does intent mean here?"),
        file_item(summary="I disagree with refusing", kind="disagree"),
        file_item(
            summary="Missing case for tools",
            kind="missing_case",
            clause="follow_all_applicable_instructions",
        ),
        file_item(summary="Typo in the heading", kind="editorial"),
        file_item(
            summary="Conflict with chain of command",
            kind="conflict",
            clause="follow_all_applicable_instructions",
        ),
    ]
    return [result.item for result in made]


def test_lists_newest_first_with_real_links(client, items):
    response = client.get(URL)
    assert response.status_code == 200
    assert numbers(response) == [item.tracking_number for item in reversed(items)]
    html = response.content.decode()
    assert f'href="/feedback/{items[0].tracking_number}/"' in html
    assert 'hx-get="/feedback/"' in html and 'hx-target="#results"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=disagree", [1]),
        ("clause=follow_all_applicable_instructions", [4, 2]),
        ("version=2025-09-12&spec=model-spec", [4, 3, 2, 1, 0]),
        ("version=2025-04-11", []),
        ("state=received", [4, 3, 2, 1, 0]),
        ("state=declined", []),
        ("authority=root", [4, 3, 2, 1, 0]),
        ("authority=guideline", []),
        ("q=intent", [0]),
        ("q=meaning", [0]),  # stemmed, and the body counts
        ("q=typo+heading", [3]),
        ("sort=oldest", [0, 1, 2, 3, 4]),
        ("kind=conflict&clause=follow_all_applicable_instructions", [4]),
    ],
)
def test_filters_search_and_sort(client, items, query, expected):
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert numbers(response) == [items[i].tracking_number for i in expected]


def test_most_endorsed_first(client, items, make_user):
    for n, item in enumerate((items[2], items[2], items[0])):
        feedback_endorse(acting_user=AnonymousUser(), item=item, anonymous_key=f"browser-{n}")
    assert numbers(client.get(f"{URL}?sort=endorsed"))[:2] == [
        items[2].tracking_number,
        items[0].tracking_number,
    ]


@pytest.mark.parametrize(
    "query",
    [
        "kind=nonsense",
        "state=secret",
        "sort=submitter_email",
        "spec=nope",
        "version=1999-01-01",
        "clause=bad%20id!",
        "authority=%00",
        "cursor=garbage",
        "q=" + "x" * 500,
        "q=%27%22()%3B--",
        "q=!!!",
        "q=a%20%26%20%7C",
        "submitter_email=a",
        "visibility=internal",
        "cursor=" + "A" * 5000,
    ],
)
def test_unknown_filter_values_are_ignored_never_an_error(client, items, query):
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200


def test_cursor_pagination_keeps_filters_both_ways(client, file_item, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    made = [file_item(summary=f"Paged item {n}", kind="editorial").item for n in range(5)]
    file_item(summary="Another kind", kind="other")
    newest = [item.tracking_number for item in reversed(made)]
    first = client.get(f"{URL}?kind=editorial")
    assert numbers(first) == newest[:2]
    html = first.content.decode()
    assert 'rel="prev"' not in html
    next_url = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "kind=editorial" in next_url and "cursor=" in next_url
    second = client.get(next_url)
    assert numbers(second) == newest[2:4]
    third_url = re.search(r'rel="next" href="([^"]+)"', second.content.decode()).group(1)
    third = client.get(third_url.replace("&amp;", "&"))
    assert numbers(third) == newest[4:]
    assert 'rel="next"' not in third.content.decode()
    back_url = re.search(r'rel="prev" href="([^"]+)"', third.content.decode()).group(1)
    back = client.get(back_url.replace("&amp;", "&"))
    assert numbers(back) == newest[2:4]
    first_again = re.search(r'rel="prev" href="([^"]+)"', back.content.decode()).group(1)
    assert numbers(client.get(first_again.replace("&amp;", "&"))) == newest[:2]
    # A cursor made for another sort is ignored: the first page.
    assert numbers(client.get(next_url + "&sort=oldest"))[0] == made[0].tracking_number


def test_htmx_gets_only_the_results_region(client, items):
    response = client.get(f"{URL}?kind=disagree", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "<form" not in html
    assert numbers(response) == [items[1].tracking_number]
    assert "HX-Request" in response["Vary"]
    restore = client.get(URL, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()


def test_query_count_does_not_grow_with_the_data(client, file_item, django_assert_max_num_queries):
    def count(query=""):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL + query).status_code == 200
        return len(ctx.captured_queries)

    file_item()
    small = count()
    for n in range(30):
        file_item(summary=f"Item {n}", clause="follow_all_applicable_instructions")
    assert count() == small
    with django_assert_max_num_queries(small):
        client.get(f"{URL}?q=item&kind=unclear&sort=endorsed&authority=root")


def test_hidden_items_show_no_content_and_are_never_searched_by_the_public(
    client, file_item, make_user, staff_client
):
    item = file_item(summary="Zebra crossing words", body="zebra").item
    feedback_hide(
        acting_user=make_user("mod", roles=["moderator"], is_staff=True),
        item=item,
        reason="Off topic",
    )
    html = client.get(URL).content.decode()
    assert item.tracking_number in html and "Hidden by a moderator: Off topic" in html
    assert "Zebra" not in html
    assert item.tracking_number not in client.get(f"{URL}?q=zebra").content.decode()
    assert item.tracking_number not in client.get(f"{URL}?kind=unclear").content.decode()
    staff = staff_client("triager")
    assert item.tracking_number in staff.get(f"{URL}?q=zebra").content.decode()
    assert FeedbackItem.objects.count() == 1


def _link(html: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


@pytest.mark.parametrize("sort", sorted(listing.SORTS))
def test_every_sort_pages_through_ties_without_skipping_or_repeating(
    client, file_item, monkeypatch, sort
):
    """Exact ties on the endorsement count and on the filing time: the keyset cursor (a row
    comparison over the whole order) must still land between two rows of one tie group."""
    monkeypatch.setattr(listing, "PAGE_SIZE", 3)
    made = [file_item(summary=f"Tied item {n}").item for n in range(11)]
    moments = sorted({item.created_at for item in made})[:3]
    for n, item in enumerate(made):
        FeedbackItem.objects.filter(pk=item.pk).update(
            created_at=moments[n % 3], endorsement_count=[0, 2, 0, 5][n % 4]
        )
    expected = list(
        FeedbackItem.objects.order_by(*listing.SORTS[sort]).values_list(
            "tracking_number", flat=True
        )
    )
    assert len(expected) == 11
    pages, url = [], f"{URL}?sort={sort}"
    while url:
        html = client.get(url).content.decode()
        pages.append(re.findall(r'class="fb-row-number">([A-Z]+-\d{4}-\d{5})<', html))
        url = _link(html, "next")
        assert len(pages) < 10
    assert [n for page in pages for n in page] == expected
    assert [len(page) for page in pages] == [3, 3, 3, 2]
    # And back from the last page, by the `prev` links.
    back, url = [], _link(html, "prev")
    while url:
        response = client.get(url)
        back = numbers(response) + back
        url = _link(response.content.decode(), "prev")
    assert back + pages[-1] == expected
