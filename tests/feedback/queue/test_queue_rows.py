"""What each queue row shows, prepared once per page in the view (labels of the choices, the
item link, the age, the labels, the overdue flag), and a page whose cost in queries does not
depend on how many rows it shows."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.models import State

pytestmark = pytest.mark.django_db

QUEUE = "/staff/queue/"


def row_html(page: str, number: str) -> str:
    match = re.search(rf'<tr class="queue-row[^"]*"[^>]*data-tn="{number}".*?</tr>', page, re.S)
    assert match, number
    return match.group(0)


def test_a_row_shows_its_item_in_words(make_item, staff, staff_client, settings):
    settings.FEEDBACK_AGEING_DAYS = 10
    helper = staff("reviewer", username="helper")
    labelled = make_item(
        filed=12, kind="example_wrong", severity="critical", labels=["safety", "tone"],
        assignee=helper, visibility="internal", quote_exact="words", position_start=0,
        position_end=5, state=State.TRIAGED, changed=11,
    )  # fmt: skip
    plain = make_item(filed=1, kind="editorial", severity="low")
    page = staff_client("triager").get(QUEUE).content.decode()

    row = row_html(page, labelled.tracking_number)
    assert 'class="state fb-state-triaged">Triaged<' in row
    assert '<td>Example is wrong<br><span class="queue-meta">Critical</span>' in row
    assert '<span class="badge">safety</span> <span class="badge">tone</span>' in row
    assert ">helper<" in row and "Internal" in row and "On a passage" in row
    assert "queue-overdue-flag" in row and "1\xa0week, 4\xa0days" in row
    assert f'href="/staff/items/{labelled.tracking_number}/"' in row
    assert f'data-href="/staff/items/{labelled.tracking_number}/"' in row
    assert f"Select {labelled.tracking_number}<" in row

    row = row_html(page, plain.tracking_number)
    assert 'class="state fb-state-received">Received<' in row
    assert '<td>Editorial<br><span class="queue-meta">Low</span>' in row
    assert '<span class="queue-nobody">Nobody</span>' in row  # no assignee
    assert '<span class="queue-nobody">None</span>' in row  # no labels
    assert "queue-overdue-flag" not in row and "Internal" not in row
    assert "On a passage" not in row


def test_the_page_costs_the_same_queries_for_one_row_or_fifty(make_item, staff, staff_client):
    client = staff_client("triager")
    other = staff("reviewer", username="other")
    make_item(filed=3, labels=["a"], assignee=other)
    client.get(QUEUE)  # sessions and caches warm
    with CaptureQueriesContext(connection) as one:
        assert client.get(QUEUE).status_code == 200
    for n in range(49):
        make_item(filed=n, labels=["a", "b"] if n % 2 else [], assignee=other if n % 3 else None)
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(QUEUE)
    assert len(re.findall(r'<tr class="queue-row', response.content.decode())) == 50
    assert len(fifty) == len(one)
