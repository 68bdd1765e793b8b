"""Receipt, private follow link, an item's public page (hidden and internal items included),
endorsing once per account or browser, reporting, and user text rendered inert."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback.models import Endorsement, FeedbackItem, Report
from feedback.services import feedback_hide
from modelspec_site.audit.models import Event

from .conftest import FORM_URL, form_data

pytestmark = pytest.mark.django_db


def main_of(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]


def submit(client, **fields):
    response = client.post(FORM_URL, form_data(**fields))
    assert response.status_code == 303
    return response["Location"]


def test_the_receipt_shows_the_private_link_once(client):
    receipt = submit(client, submitter_email="ada@example.org")
    item = FeedbackItem.objects.get()
    response = client.get(receipt)
    assert response.status_code == 200
    html = main_of(response)
    assert item.tracking_number in html
    link = re.search(r'href="(http://testserver/feedback/[^"]+/follow/[^"]+/)"', html).group(1)
    assert "shown only once" in html
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    # The token is not in the receipt's own URL, and it is not shown a second time.
    assert "follow" not in receipt
    again = main_of(client.get(receipt))
    assert "/follow/" not in again and item.tracking_number in again
    # The link works (in another browser too).
    from django.test import Client

    page = Client().get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert "ada@example.org" in main_of(page)
    assert page["Referrer-Policy"] == "no-referrer"


def test_a_wrong_follow_token_is_a_404(client, file_item):
    mine = file_item(submitter_email="me@example.org")
    other = file_item(submitter_email="other@example.org")
    number = mine.item.tracking_number
    assert client.get(f"/feedback/{number}/follow/{mine.follow_token}/").status_code == 200
    assert client.get(f"/feedback/{number}/follow/wrong-token/").status_code == 404
    assert client.get(f"/feedback/{number}/follow/{other.follow_token}/").status_code == 404
    assert client.get(f"/feedback/MS-1999-99999/follow/{mine.follow_token}/").status_code == 404


def test_a_receipt_for_someone_elses_internal_item_is_a_404(client, file_item, make_user):
    staff = make_user("insider", roles=["triager"], is_staff=True)
    internal = file_item(user=staff, visibility="internal").item
    assert client.get(f"/feedback/{internal.tracking_number}/receipt/").status_code == 404


def test_the_item_page_shows_status_target_text_and_timeline(client, file_item):
    result = file_item(
        summary="Say what intent means",
        body="See [the docs](https://example.org/docs).",
        suggested_text="**Intent** means the goal behind the words.",
        quote={"exact": "literal wording"},
        submitter_name="Ada",
        affiliation="Engines Ltd",
        example_conversation=[{"role": "user", "content": "Hi there", "label": None}],
    )
    response = client.get(f"/feedback/{result.item.tracking_number}/")
    assert response.status_code == 200
    html = main_of(response)
    assert "Say what intent means" in html
    assert "Received" in html and "Unclear" in html and "Medium" in html
    assert 'href="/specs/model-spec/versions/2025-09-12/clauses/letter_and_spirit/"' in html
    assert "<mark>literal wording</mark>" in html and "consider not just the" in html
    assert '<a href="https://example.org/docs" rel="nofollow noopener noreferrer ugc">' in html
    assert "<strong>Intent</strong> means" in html
    assert "Hi there" in html and "Ada" in html and "Engines Ltd" in html
    assert "0 endorsements" in html
    assert re.search(r'<ol class="fb-timeline">\s*<li><time datetime="[^"]+">', html)
    assert "Received</span>" in html


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script> [click](javascript:alert(2)) [x](JaVaScRiPt:alert(3)) "
        "<img src=x onerror=alert(4)> [y](  javascript:alert(5))",
        '<a href="javascript:alert(6)">x</a> <svg onload=alert(7)> <iframe src="x">',
    ],
)
def test_script_and_javascript_links_in_user_text_are_inert(client, payload):
    submit(
        client,
        summary="<script>alert(8)</script>",
        body=payload,
        suggested_text=payload,
        turn1_role="user",
        turn1_content=payload,
        affiliation="<b onmouseover=alert(9)>",
    )
    item = FeedbackItem.objects.get()
    for url in (f"/feedback/{item.tracking_number}/", "/feedback/"):
        html = main_of(client.get(url))
        assert "<script" not in html and "<svg" not in html and "<iframe" not in html
        # No live javascript: link, whatever the spelling (escaped text may quote one).
        assert not re.search(r"<a\s[^>]*href=[\"']?\s*javascript:", html, re.I)
        assert not re.search(r"<[a-z][^>]*\son\w+=", html, re.I)
        if "<a href" not in payload:
            assert 'href="javascript:' not in html.lower()
    html = main_of(client.get(f"/feedback/{item.tracking_number}/"))
    assert "&lt;script&gt;alert(8)&lt;/script&gt;" in html


def test_a_hidden_item_shows_only_number_state_and_reason(
    client, file_item, make_user, staff_client
):
    item = file_item(summary="Rude words here", body="More rude words").item
    moderator = make_user("mod", roles=["moderator"], is_staff=True)
    feedback_hide(acting_user=moderator, item=item, reason="Abusive language")
    html = main_of(client.get(f"/feedback/{item.tracking_number}/"))
    assert item.tracking_number in html and "Received" in html
    assert "Hidden by a moderator: Abusive language" in html
    assert "rude words" not in html.lower()
    assert "Endorse" not in html and "fb-timeline" not in html
    # Staff still see the content, with the notice.
    staff_html = main_of(staff_client("triager").get(f"/feedback/{item.tracking_number}/"))
    assert "Rude words here" in staff_html and "Abusive language" in staff_html
    # The public cannot endorse it either.
    from django.test import Client

    response = Client().post(f"/feedback/{item.tracking_number}/endorse/")
    assert response.status_code == 303
    assert Endorsement.objects.count() == 0


def test_internal_items_are_404_for_the_public_like_missing_ones(
    client, file_item, make_user, staff_client
):
    staff = make_user("insider", roles=["triager"], is_staff=True)
    internal = file_item(user=staff, visibility="internal", summary="Internal only").item
    missing = client.get("/feedback/MS-2099-99999/")
    hidden = client.get(f"/feedback/{internal.tracking_number}/")
    assert hidden.status_code == missing.status_code == 404
    assert main_of(hidden) == main_of(missing)
    for action in ("endorse", "report"):
        assert (
            client.post(
                f"/feedback/{internal.tracking_number}/{action}/", {"reason": "x y z"}
            ).status_code
            == 404
        )
    assert "Internal only" in main_of(
        staff_client("reviewer").get(f"/feedback/{internal.tracking_number}/")
    )


def test_endorse_once_per_browser(client, file_item):
    item = file_item().item
    url = f"/feedback/{item.tracking_number}/endorse/"
    response = client.post(url)
    assert response.status_code == 303 and response["Location"] == item.get_absolute_url()
    cookie = response.cookies["msf_browser"]
    assert cookie["httponly"] and len(cookie.value) >= 32
    page = main_of(client.get(item.get_absolute_url()))
    assert (
        "Thank you: your endorsement is counted"
        in client.get(item.get_absolute_url()).content.decode()
        or "1 endorsement" in page
    )
    assert "1 endorsement" in page and "You endorsed this" in page
    # The same browser again: a friendly message, no second endorsement.
    client.post(url)
    assert "You have already endorsed this" in client.get(item.get_absolute_url()).content.decode()
    item.refresh_from_db()
    assert item.endorsement_count == 1
    # Another browser counts.
    from django.test import Client

    Client().post(url)
    item.refresh_from_db()
    assert item.endorsement_count == 2
    assert Endorsement.objects.filter(item=item).count() == 2


def test_endorse_once_per_account_and_with_htmx(client, file_item, make_user):
    item = file_item().item
    client.force_login(make_user("reader"))
    url = f"/feedback/{item.tracking_number}/endorse/"
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and "1 endorsement" in html and "Thank you" in html
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert "You have already endorsed this" in response.content.decode()
    item.refresh_from_db()
    assert item.endorsement_count == 1
    assert Event.objects.filter(action="feedback.endorsed").count() == 1
    assert client.get(url).status_code == 405


def test_report(client, file_item):
    item = file_item().item
    url = f"/feedback/{item.tracking_number}/report/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert Report.objects.count() == 0
    response = client.post(url, {"reason": "This is spam"})
    assert response.status_code == 303
    assert (
        "Thank you. A moderator will look at it."
        in client.get(item.get_absolute_url()).content.decode()
    )
    assert Report.objects.get().reason == "This is spam"
    response = client.post(url, {"reason": "Again, by htmx"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    assert Report.objects.count() == 2
    # Reports are internal: they never reach the public timeline.
    assert "This is spam" not in main_of(client.get(item.get_absolute_url()))


def test_unknown_tracking_numbers_and_methods(client):
    assert client.get("/feedback/MS-2025-00001/").status_code == 404
    assert client.get("/feedback/not-a-number/").status_code == 404
    assert client.post("/feedback/MS-2025-00001/endorse/").status_code == 404


def test_the_timeline_shows_only_public_events(client, file_item):
    item = file_item().item
    client.post(f"/feedback/{item.tracking_number}/report/", {"reason": "secret reason text"})
    html = main_of(client.get(item.get_absolute_url()))
    assert "secret reason text" not in html
    assert "Reported" not in html
    assert AnonymousUser().is_anonymous


def test_endorse_instead_from_the_similar_panel(client, file_item):
    item = file_item(summary="Intent is unclear").item
    url = f"/feedback/{item.tracking_number}/endorse/"
    # With htmx only that item's bit of the panel comes back.
    response = client.post(url, {"panel": "similar", "summary": "ignored"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="similar-endorse-{item.tracking_number}"' in html and "1 endorsement" in html
    assert "Endorse instead" not in html
    # Without JavaScript the feedback form itself is posted there: back to the item's page.
    from django.test import Client

    response = Client().post(url, {"panel": "similar", "summary": "Mine", "kind": "unclear"})
    assert response.status_code == 303 and response["Location"] == item.get_absolute_url()
    item.refresh_from_db()
    assert item.endorsement_count == 2
    assert FeedbackItem.objects.count() == 1
