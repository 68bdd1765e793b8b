"""The public never sees internal items or submitters' e-mail addresses on any feedback page:
unique markers in an internal item and in e-mail addresses are looked for everywhere a public
viewer (anonymous, or signed in without a staff role) can go."""

import pytest

from feedback.models import FeedbackItem

from .conftest import CLAUSE, LABEL

pytestmark = pytest.mark.django_db

INTERNAL = "CANARYinternal7f3a"
EMAIL = "canary-mail-91b2@example.org"
SEARCHED = "zebrasecret"  # a word of the internal item the tests search for


@pytest.fixture
def canaries(file_item, make_user):
    staff = make_user("insider", roles=["triager"], is_staff=True)
    internal = file_item(
        user=staff,
        visibility="internal",
        summary=f"{INTERNAL} summary",
        body=f"{INTERNAL} {SEARCHED}",
        quote={"exact": "literal wording"},
        submitter_email=f"x{EMAIL}",
    ).item
    public = file_item(
        summary="Public canary neighbour", submitter_email=EMAIL, submitter_name="Public Name"
    ).item
    return internal, public


def public_urls(internal: FeedbackItem, public: FeedbackItem) -> list[str]:
    reader = f"/specs/model-spec/versions/{LABEL}/"
    return [
        "/",
        reader,
        f"{reader}clauses/{CLAUSE}/",
        "/feedback/",
        "/feedback/?q=zebrasecret",
        "/feedback/?q=summary",
        f"/feedback/?clause={CLAUSE}&sort=endorsed",
        "/feedback/?kind=unclear&sort=oldest",
        f"/feedback/{public.tracking_number}/",
        f"/feedback/{public.tracking_number}/receipt/",
        f"/feedback/{public.tracking_number}/report/",
        f"/feedback/{internal.tracking_number}/",
        f"/feedback/{internal.tracking_number}/receipt/",
        f"/feedback/{internal.tracking_number}/report/",
        f"/feedback/similar/?version={LABEL}&clause={CLAUSE}&q={SEARCHED}",
        f"/feedback/similar/?version={LABEL}&clause={CLAUSE}&q=summary",
        f"/feedback/new/?spec=model-spec&version={LABEL}&clause={CLAUSE}",
    ]


@pytest.mark.parametrize("who", ["anonymous", "commenter"])
def test_no_internal_content_or_email_on_any_public_page(client, canaries, make_user, who):
    internal, public = canaries
    if who == "commenter":
        client.force_login(make_user("commenter"))
    scanned = 0
    for url in public_urls(internal, public):
        for htmx in (False, True):
            extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
            response = client.get(url, **extra)
            assert response.status_code in (200, 404), url
            blob = response.content.decode() + str(response.headers)
            assert INTERNAL not in blob, url
            assert EMAIL not in blob, url
            # (the page's own address is echoed in the language form)
            assert internal.tracking_number not in blob.replace(url, ""), url
            scanned += 1
    # Writes answer the same 404 for internal items.
    for action in ("endorse", "report"):
        response = client.post(f"/feedback/{internal.tracking_number}/{action}/", {"reason": "abc"})
        assert response.status_code == 404
        assert INTERNAL not in response.content.decode()
    assert scanned == 34


def test_staff_pages_do_not_print_emails_either(staff_client, canaries):
    internal, public = canaries
    staff = staff_client("triager")
    for url in (
        f"/feedback/{public.tracking_number}/",
        "/feedback/",
        f"/feedback/{internal.tracking_number}/",
    ):
        html = staff.get(url).content.decode()
        assert EMAIL not in html
    assert INTERNAL in staff.get(f"/feedback/{internal.tracking_number}/").content.decode()
