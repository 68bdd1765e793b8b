"""The feedback form: shown for a clause, a passage or an example; files through the service;
refuses bad input with field errors and stores nothing; honeypot, minimum fill time, comment
period, staff-only internal feedback, and the similar-feedback panel."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from feedback.models import FeedbackItem
from revisions.models import ClauseText, Example, Version

from .conftest import CLAUSE, FORM_URL, LABEL, form_data

pytestmark = pytest.mark.django_db

TARGET = f"?spec=model-spec&version={LABEL}&clause={CLAUSE}"


def main_of(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_the_form_has_labelled_fields_grouped_in_fieldsets(client):
    response = client.get(FORM_URL + TARGET)
    assert response.status_code == 200
    html = main_of(response)
    for name in (
        "kind",
        "summary",
        "body",
        "suggested_text",
        "severity",
        "affiliation",
        "conflict_of_interest",
        "submitter_name",
        "submitter_email",
        "turn1_role",
        "turn1_content",
        "turn1_label",
        "turn4_label",
    ):
        assert f'name="{name}"' in html
        if name != "kind":
            assert f'<label for="id_{name}' in html or f'for="id_{name}_0"' in html
    assert html.count("<legend>") >= 5
    assert "Never shown publicly" in html
    # Every kind is explained.
    assert html.count('class="helptext" id="id_kind_') == 8
    # The honeypot is there for bots, hidden from people and out of the tab order.
    assert re.search(r'<div class="fb-hp" aria-hidden="true">', html)
    assert re.search(r'name="homepage"[^>]*tabindex="-1"', html)
    # The target travels in hidden fields; the public cannot choose internal visibility.
    assert '<input type="hidden" name="clause" value="letter_and_spirit">' in html
    assert 'name="visibility"' not in html
    assert 'hx-get="/feedback/similar/' not in html or "keyup changed delay:400ms" in html


def test_summary_asks_for_similar_feedback_as_you_type(client):
    html = main_of(client.get(FORM_URL + TARGET))
    summary = re.search(r"<input[^>]*name=\"summary\"[^>]*>", html).group(0)
    assert (
        'hx-get="/feedback/similar/?spec=model-spec&amp;version=2025-09-12&amp;clause=letter_and_spirit"'
        in summary
    )
    assert 'hx-trigger="keyup changed delay:400ms"' in summary
    assert 'hx-target="#similar-panel"' in summary


def test_a_quoted_passage_is_shown_read_only_with_its_context(client):
    text = ClauseText.objects.get(version__label=LABEL, anchor=CLAUSE).plain_text
    start = text.index("literal wording")
    response = client.get(FORM_URL + TARGET + f"&exact=literal+wording&start={start}")
    html = main_of(response)
    assert "<mark>literal wording</mark>" in html
    assert "consider not just the </span>" in html  # prefix context
    assert '<input type="hidden" name="exact" value="literal wording">' in html
    assert "not in the clause" not in html


def test_a_quote_that_is_not_in_the_text_is_flagged_on_the_form(client):
    html = main_of(client.get(FORM_URL + TARGET + "&exact=words+that+are+nowhere"))
    assert "This passage is not in the clause" in html


def test_filing_feedback_redirects_to_the_receipt(client):
    data = form_data(
        submitter_name="Ada",
        submitter_email="ada@example.org",
        affiliation="Analytical Engines Ltd",
        conflict_of_interest="None",
        suggested_text="Say *intent* means the goal.",
        turn1_role="user",
        turn1_content="Delete my files",
        turn2_role="assistant",
        turn2_content="Done, all deleted.",
        turn2_label="BAD",
    )
    response = client.post(FORM_URL, data)
    assert response.status_code == 303
    item = FeedbackItem.objects.get()
    assert response["Location"] == f"/feedback/{item.tracking_number}/receipt/"
    assert re.fullmatch(r"MS-\d{4}-\d{5}", item.tracking_number)
    assert (item.kind, item.summary, item.visibility, item.state) == (
        "unclear",
        "Intent is unclear here",
        "public",
        "received",
    )
    assert item.clause_text.anchor == CLAUSE and item.version.label == LABEL
    assert item.submitter_email == "ada@example.org"
    assert item.example_conversation == [
        {"role": "user", "content": "Delete my files", "label": None},
        {"role": "assistant", "content": "Done, all deleted.", "label": "BAD"},
    ]
    assert item.follow_token_hash
    assert client.session[f"feedback.follow.{item.tracking_number}"]


def test_filing_on_a_passage_stores_the_selectors(client):
    text = ClauseText.objects.get(version__label=LABEL, anchor=CLAUSE).plain_text
    start = text.index("underlying intent")
    data = form_data(
        exact="underlying  intent",
        prefix="also the ",
        suffix=" and context",
        start=str(start),
        end=str(start + 17),
    )
    assert client.post(FORM_URL, data).status_code == 303
    item = FeedbackItem.objects.get()
    assert (item.quote_exact, item.position_start, item.position_end) == (
        "underlying intent",
        start,
        start + 17,
    )


def test_filing_on_an_example(client):
    example = Example.objects.filter(version__label=LABEL, clause_text__anchor=CLAUSE).first()
    page = client.get(FORM_URL + TARGET + f"&example={example.slug}")
    assert example.title in main_of(page)
    assert (
        client.post(FORM_URL, form_data(example=example.slug, kind="example_wrong")).status_code
        == 303
    )
    assert FeedbackItem.objects.get().example == example


def test_a_quote_not_in_the_clause_is_a_field_error_and_nothing_is_stored(client):
    response = client.post(FORM_URL, form_data(exact="the assistant must always juggle"))
    assert response.status_code == 400
    html = main_of(response)
    assert "The quoted passage is not in this clause" in html
    assert '<a href="#quote">' in html  # the error summary links to the passage
    assert FeedbackItem.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "anchor"),
    [
        ("summary", "x" * 201, "id_summary"),
        ("summary", "", "id_summary"),
        ("body", "x" * 20_001, "id_body"),
        ("suggested_text", "x" * 20_001, "id_suggested_text"),
        ("affiliation", "x" * 201, "id_affiliation"),
        ("submitter_email", "not-an-address", "id_submitter_email"),
        ("kind", "nonsense", "id_kind_0"),
        ("severity", "apocalyptic", "id_severity_0"),
        ("turn1_content", "x" * 10_001, "id_turn1_content"),
        ("summary", "nul\x00byte", "id_summary"),
    ],
)
def test_bad_fields_are_refused_with_a_linked_error_summary(client, field, value, anchor):
    response = client.post(FORM_URL, form_data(**{field: value}))
    assert response.status_code == 400
    html = main_of(response)
    assert 'class="error-summary"' in html
    assert f'href="#{anchor}"' in html
    assert 'aria-invalid="true"' in html or field == "kind"
    assert FeedbackItem.objects.count() == 0


def test_conversation_rows_must_be_complete(client):
    response = client.post(
        FORM_URL,
        form_data(
            turn1_role="user", turn1_content="hi", turn1_label="GOOD", turn2_content="orphan"
        ),
    )
    assert response.status_code == 400
    html = main_of(response)
    assert "Only the assistant" in html and "Say who speaks" in html
    assert FeedbackItem.objects.count() == 0


def test_submitted_text_is_kept_when_the_form_comes_back(client):
    response = client.post(FORM_URL, form_data(summary="", body="My careful words"))
    assert "My careful words" in main_of(response)


def test_unknown_targets(client):
    assert client.get(FORM_URL + f"?spec=model-spec&version={LABEL}&clause=nope").status_code == 404
    assert client.get(FORM_URL + "?spec=model-spec&version=1999-01-01&clause=x").status_code == 404
    assert client.get(FORM_URL + "?spec=nope&version=2025-09-12&clause=x").status_code == 404
    assert client.get(FORM_URL + TARGET + "&example=no-such-example").status_code == 404
    assert client.get(FORM_URL).status_code == 400
    assert client.get(FORM_URL + TARGET + "&start=abc").status_code == 400
    assert client.get(FORM_URL + f"?version={LABEL}&clause=bad%20id!").status_code == 400
    response = client.post(FORM_URL, form_data(clause="nope"))
    assert response.status_code == 404
    assert FeedbackItem.objects.count() == 0


def test_a_filled_honeypot_is_refused_without_storing(client, caplog):
    response = client.post(FORM_URL, form_data(homepage="http://spam.example"))
    assert response.status_code == 400
    html = main_of(response)
    assert "We could not accept this submission" in html
    assert "spam.example" not in html  # the field comes back empty: a person can resend
    assert FeedbackItem.objects.count() == 0
    assert "honeypot" in caplog.text


def test_too_fast_or_without_a_valid_stamp_is_refused(client, settings):
    settings.FEEDBACK_MIN_FILL_SECONDS = 60
    response = client.post(FORM_URL, form_data())
    assert response.status_code == 400
    assert "quicker than we expect" in main_of(response)
    for stamp in ("", "forged:stamp"):
        response = client.post(FORM_URL, form_data(started=stamp))
        assert response.status_code == 400
        assert "This form has expired" in main_of(response)
    assert FeedbackItem.objects.count() == 0


def test_too_fast_keeps_the_original_stamp_so_waiting_helps(client, settings):
    settings.FEEDBACK_MIN_FILL_SECONDS = 60
    data = form_data()
    html = main_of(client.post(FORM_URL, data))
    assert f'name="started" value="{data["started"]}"' in html


@pytest.fixture
def closed_version(version):
    Version.objects.filter(pk=version.pk).update(
        comment_closes_at=timezone.now() - dt.timedelta(days=1)
    )
    return version


def test_outside_the_comment_period_the_public_gets_a_403_page(client, closed_version):
    response = client.get(FORM_URL + TARGET)
    assert response.status_code == 403
    assert "The comment period for version 2025-09-12 is over" in main_of(response)
    response = client.post(FORM_URL, form_data())
    assert response.status_code == 403
    assert FeedbackItem.objects.count() == 0


def test_a_superseded_version_points_to_the_current_text(client):
    response = client.get(f"{FORM_URL}?spec=model-spec&version=2025-04-11&clause={CLAUSE}")
    assert response.status_code == 403
    html = main_of(response)
    assert "is not the current version" in html
    assert f'href="/specs/model-spec/clauses/{CLAUSE}/"' in html


def test_staff_choose_visibility_and_may_file_internal_items_when_closed(
    staff_client, closed_version
):
    staff = staff_client("triager")
    html = main_of(staff.get(FORM_URL + TARGET))
    assert 'name="visibility"' in html
    assert 'value="public"' not in re.search(
        r'<div id="id_visibility">.*?</fieldset>', html, re.S
    ).group(0)
    response = staff.post(FORM_URL, form_data(visibility="internal"))
    assert response.status_code == 303
    assert FeedbackItem.objects.get().visibility == "internal"


def test_the_public_cannot_file_internal_items(client):
    assert client.post(FORM_URL, form_data(visibility="internal")).status_code == 303
    assert FeedbackItem.objects.get().visibility == "public"


def test_check_for_similar_feedback_without_javascript(client, file_item, version):
    file_item(summary="The intent of instructions is unclear")
    file_item(summary="Completely different topic about cats")
    response = client.post(FORM_URL, form_data(action="similar", summary="intent unclear", kind=""))
    assert response.status_code == 200
    html = main_of(response)
    assert "The intent of instructions is unclear" in html
    assert "about cats" not in html
    assert "Endorse instead" in html
    assert 'class="error-summary"' not in html  # nothing was sent: no errors yet
    assert 'value="intent unclear"' in html
    assert FeedbackItem.objects.count() == 2


def test_similar_panel_for_htmx(client, file_item, staff_client, make_user):
    public = file_item(summary="The intent of instructions is unclear").item
    file_item(
        summary="Intent is unclear says staff",
        visibility="internal",
        user=make_user("insider", roles=["triager"], is_staff=True),
    )
    file_item(
        summary="Intent unclear in another clause", clause="follow_all_applicable_instructions"
    )
    url = (
        f"/feedback/similar/?spec=model-spec&version={LABEL}&clause={CLAUSE}&summary=intent+unclear"
    )
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a fragment
    assert public.tracking_number in html
    assert "says staff" not in html and "another clause" not in html
    assert f'formaction="/feedback/{public.tracking_number}/endorse/"' in html
    # Without htmx it is a page of its own, each button in its own form.
    page = client.get(url.replace("summary=", "q="))
    assert "<html" in page.content.decode()
    assert f'action="/feedback/{public.tracking_number}/endorse/"' in page.content.decode()
    assert client.get("/feedback/similar/?clause=x").status_code == 400
    assert client.get(url.replace(CLAUSE, "nope")).status_code == 404


def test_the_same_form_sent_twice_files_one_item(client):
    data = form_data()
    first = client.post(FORM_URL, data)
    second = client.post(FORM_URL, data)
    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    assert FeedbackItem.objects.count() == 1
    # A form refused for its content can be corrected and sent with the same stamp.
    data = form_data(summary="")
    assert client.post(FORM_URL, data).status_code == 400
    data["exact"] = "not in the clause at all"
    data["summary"] = "Now filled in"
    assert client.post(FORM_URL, data).status_code == 400
    data["exact"] = ""
    assert client.post(FORM_URL, data).status_code == 303
    assert FeedbackItem.objects.count() == 2


def test_too_many_submissions_get_a_429_and_keep_the_text(client, settings, file_item):
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "2/minute"}
    for n in range(2):
        assert client.post(FORM_URL, form_data(summary=f"Number {n}")).status_code == 303
    response = client.post(FORM_URL, form_data(summary="Number three", body="Keep these words"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    html = main_of(response)
    assert "Too many submissions" in html and "Keep these words" in html
    assert FeedbackItem.objects.count() == 2
    # Endorsing and reporting share the budget.
    item = FeedbackItem.objects.first()
    response = client.post(f"/feedback/{item.tracking_number}/endorse/")
    assert response.status_code == 429 and "Too many requests" in response.content.decode()
    response = client.post(f"/feedback/{item.tracking_number}/endorse/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Too many submissions" in response.content.decode()
    assert (
        client.post(f"/feedback/{item.tracking_number}/report/", {"reason": "abc"}).status_code
        == 429
    )
