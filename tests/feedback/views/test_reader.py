"""Feedback in the reading pages, through revisions' hooks: per-clause counts and "Comment"
links in the cached reader (one extra query for all counts), and a feedback section on the
clause page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.services import feedback_hide
from revisions import hooks

from .conftest import CLAUSE, LABEL

pytestmark = pytest.mark.django_db

READER = f"/specs/model-spec/versions/{LABEL}/"
CLAUSE_PAGE = f"{READER}clauses/{CLAUSE}/"


def queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_the_reader_shows_counts_and_comment_links(client, file_item, make_user):
    file_item()
    file_item(summary="second")
    file_item(clause="follow_all_applicable_instructions")
    staff = make_user("insider", roles=["triager"], is_staff=True)
    file_item(user=staff, visibility="internal")
    html = client.get(READER).content.decode()
    assert f'<a class="fb-count" href="{CLAUSE_PAGE}#feedback">2 feedback items</a>' in html
    assert "1 feedback item</a>" in html
    assert html.count('class="fb-comment-link"') == 77
    assert f'href="/feedback/new/?spec=model-spec&amp;version={LABEL}&amp;clause={CLAUSE}"' in html
    assert "<!--clause-extras" not in html
    assert '<script src="/static/feedback.js" nonce="' in html
    # The internal item is not counted for the public.
    assert "3 feedback items" not in html


def test_counts_cost_one_extra_query_whatever_the_data(client, file_item, make_user):
    # Signed in, so the page is drawn per request (signed-out visitors get a kept page).
    client.force_login(make_user("commenter"))
    queries(client, READER)  # draws the cached body
    warm_empty = queries(client, READER)
    # session, user, roles, the version, and all counts in one query
    assert len(warm_empty) == 5
    assert "feedback_feedbackitem" in warm_empty[-1] and "GROUP BY" in warm_empty[-1]
    for n in range(10):
        file_item(summary=f"item {n}", clause=CLAUSE if n % 2 else "overview")
    assert len(queries(client, READER)) == 5


def test_the_reader_without_hooks_has_no_markers_and_no_extra_query(client, monkeypatch, make_user):
    monkeypatch.setattr(hooks, "_hooks", [])
    client.force_login(make_user("commenter"))
    queries(client, READER)
    assert len(queries(client, READER)) == 4  # session, user, roles, the version
    html = client.get(READER).content.decode()
    assert "<!--clause-extras" not in html and "fb-comment-link" not in html


def test_staff_counts_include_internal_items(staff_client, file_item, make_user):
    file_item(user=make_user("insider", roles=["triager"], is_staff=True), visibility="internal")
    html = staff_client("reviewer").get(READER).content.decode()
    assert "1 feedback item</a>" in html


def test_hook_html_that_is_not_marked_safe_is_escaped(client, monkeypatch):
    class Loud(hooks.ReaderHook):
        def reader_extras(self, *, request, version, clauses):
            return {ref.pk: "<b>raw</b>" for ref in clauses}

    monkeypatch.setattr(hooks, "_hooks", [Loud()])
    html = client.get(READER).content.decode()
    assert "&lt;b&gt;raw&lt;/b&gt;" in html and "<b>raw</b>" not in html


def test_the_clause_page_lists_its_feedback(
    client, file_item, make_user, django_assert_max_num_queries
):
    public = file_item(summary="Public point on this clause").item
    file_item(summary="Elsewhere", clause="overview")
    staff = make_user("insider", roles=["triager"], is_staff=True)
    file_item(user=staff, visibility="internal", summary="Internal point")
    hidden = file_item(summary="Rude point").item
    feedback_hide(
        acting_user=make_user("mod", roles=["moderator"], is_staff=True),
        item=hidden,
        reason="Abuse",
    )
    with django_assert_max_num_queries(6):  # + the clause key for the follow button
        response = client.get(CLAUSE_PAGE)
    html = response.content.decode()
    section = re.search(
        r'<section class="fb-clause-feedback" id="feedback".*?</section>', html, re.S
    )
    assert section is not None
    assert "Public point on this clause" in section.group(0)
    assert f'href="/feedback/{public.tracking_number}/"' in section.group(0)
    for absent in ("Elsewhere", "Internal point", "Rude point", hidden.tracking_number):
        assert absent not in html
    assert "Comment on this clause" in section.group(0)
    assert '<a class="fb-count" href="#feedback">1 feedback item</a>' in html
    assert '<script src="/static/feedback.js"' in html


def test_a_clause_without_feedback_says_so(client):
    html = client.get(CLAUSE_PAGE).content.decode()
    assert "No feedback on this clause yet." in html
    assert 'class="fb-count"' not in html
