"""Submitters hear about the carry with the diff of their clause and answer yes / partly /
no; reviewers hear when a closed item's submitter answers no; the queue lists what needs a
look; the public sees carried public items on the new version, never internal ones."""

import re

from feedback.carry import ANSWERED_ACTION
from feedback.messaging import CARRIED_KIND, REOPEN_KIND
from feedback.models import FeedbackItem, Note, ProposalLink, Reanchoring, State
from modelspec_site.audit.models import Event
from modelspec_site.outbox.models import OutboxMessage
from revisions.models import ChangeProposal

from .conftest import CHANGED_QUOTE, CLAUSE, KEPT_QUOTE, NEW, REMOVED


def _answer_path(message: OutboxMessage) -> str:
    return re.search(r"https?://[^/\s]+(/feedback/[^\s]+/carried/[^\s]+/)", message.body_text)[1]


def test_the_submitter_gets_the_diff_and_answers_through_the_signed_link(
    file_item, publish, client
):
    filed = file_item(quote=CHANGED_QUOTE, submitter_email="anon@example.org")
    internal_ok = file_item(summary="no address")  # no e-mail: nothing to send
    publish()

    message = OutboxMessage.objects.get(kind=CARRIED_KIND, recipient="anon@example.org")
    assert filed.item.tracking_number in message.subject and NEW in message.subject
    assert "[-detect -]{+find +}" in message.body_text
    assert "<del" in message.body_html and "<ins" in message.body_html
    assert "A summary" not in message.body_text  # never echo an unverified address's words
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not OutboxMessage.objects.filter(
        kind=CARRIED_KIND,
        event_seq__in=Event.objects.filter(
            data__tracking_number=internal_ok.item.tracking_number
        ).values("seq"),
    ).exists()

    path = _answer_path(message)
    page = client.get(path)
    assert (
        page.status_code == 200
        and "Does the new text resolve your concern?" in page.content.decode()
    )
    assert not Reanchoring.objects.exclude(response="").exists()  # GET records nothing

    assert client.post(path, {"response": "maybe"}).status_code == 400
    done = client.post(path, {"response": "partly", "message": "Better, not there yet."})
    assert done.status_code == 303
    row = Reanchoring.objects.get(item=filed.item)
    assert row.response == "partly" and row.responded_at is not None
    assert Event.objects.filter(action=ANSWERED_ACTION, data__response="partly").count() == 1
    assert Note.objects.filter(item=filed.item, kind=Note.Kind.SUBMITTER_REPLY).count() == 1
    assert FeedbackItem.objects.get(pk=filed.item.pk).state == State.RECEIVED


def test_wrong_tokens_and_other_people_get_404(file_item, publish, client, make_user):
    owner = make_user("owner")
    filed = file_item(quote=KEPT_QUOTE, user=owner)
    publish()
    number = filed.item.tracking_number
    assert client.get(f"/feedback/{number}/carried/1.2:forged/").status_code == 404
    assert client.get(f"/feedback/{number}/follow/wrong-token/carried/").status_code == 404
    assert client.get(f"/feedback/{number}/carried/").status_code == 404
    client.force_login(make_user("stranger"))
    assert client.post(f"/feedback/{number}/carried/", {"response": "yes"}).status_code == 404
    client.force_login(owner)
    assert client.get(f"/feedback/{number}/carried/").status_code == 200
    assert client.post(f"/feedback/{number}/carried/", {"response": "yes"}).status_code == 303
    assert Reanchoring.objects.get(item=filed.item).response == "yes"
    # The private follow link works too.
    anon = file_item(quote=KEPT_QUOTE, summary="anon")
    assert Reanchoring.objects.filter(item=anon.item).count() == 0  # filed after publishing
    follow = f"/feedback/{number}/follow/{filed.follow_token}/carried/"
    assert client.get(follow).status_code == 200


def test_no_on_an_incorporated_item_asks_reviewers_to_reopen(
    file_item, publish, draft, current, accept, make_user, client, staff_client
):
    filed = file_item(quote=CHANGED_QUOTE, submitter_email="anon@example.org")
    item = accept(filed.item)
    proposal = ChangeProposal.objects.create(
        spec=current.spec, operation="edit", state="applied", base_version=current,
        rationale="Clearer.", author=make_user("author", roles=("editor",)), draft=draft,
        applied_anchor=CLAUSE,
    )  # fmt: skip
    ProposalLink.objects.create(item=item, proposal=proposal)
    publish()
    assert FeedbackItem.objects.get(pk=item.pk).state == State.INCORPORATED
    # One message to the submitter (the carried one, saying incorporated), not two.
    to_submitter = OutboxMessage.objects.filter(recipient="anon@example.org")
    assert set(to_submitter.values_list("kind", flat=True)) >= {CARRIED_KIND}
    assert not to_submitter.filter(
        kind="feedback.transition", subject__contains="Incorporated"
    ).exists()
    carried = to_submitter.get(kind=CARRIED_KIND)
    assert "Incorporated in version" in carried.subject

    answer = client.post(_answer_path(carried), {"response": "no", "message": "Still wrong."})
    assert answer.status_code == 303
    assert FeedbackItem.objects.get(pk=item.pk).state == State.INCORPORATED
    reply = Note.objects.get(item=item, kind=Note.Kind.SUBMITTER_REPLY)
    assert reply.body == "Still wrong."
    reviewers = OutboxMessage.objects.filter(kind=REOPEN_KIND)
    assert set(reviewers.values_list("recipient", flat=True)) == {
        "editor-a@example.org",
        "reviewer-b@example.org",
    }
    assert "Still wrong." in reviewers.first().body_text

    staff = staff_client("triager")
    page = staff.get("/staff/queue/?state=closed&reanchor=reopen")
    assert page.status_code == 200 and item.tracking_number in page.content.decode()


def test_orphans_and_low_confidence_items_are_in_the_review_queue(
    file_item, publish, staff_client, settings
):
    settings.FEEDBACK_REANCHOR_REVIEW_BELOW = 60
    orphan = file_item(clause=REMOVED, quote="preset voice").item
    fine = file_item(quote=KEPT_QUOTE, summary="fine one").item
    publish()
    client = staff_client("triager")
    html = client.get("/staff/queue/?reanchor=review").content.decode()
    assert orphan.tracking_number in html and fine.tracking_number not in html
    assert "Re-anchoring needs a look" in client.get("/staff/queue/").content.decode()


def test_the_new_version_shows_carried_public_items_and_never_internal_ones(
    file_item, publish, client, make_user, django_assert_max_num_queries
):
    public = file_item(quote=KEPT_QUOTE, summary="public carried canary").item
    staff = make_user("insider", roles=("reviewer",), is_staff=True)
    internal = file_item(user=staff, visibility="internal", summary="internal carried canary").item
    publish()

    clause = client.get(f"/specs/model-spec/versions/{NEW}/clauses/{CLAUSE}/")
    html = clause.content.decode()
    assert clause.status_code == 200
    assert public.tracking_number in html
    assert internal.tracking_number not in html and "internal carried canary" not in html
    item_page = client.get(f"/feedback/{public.tracking_number}/").content.decode()
    assert f"Carried to version {NEW}" in item_page
    assert client.get(f"/feedback/{internal.tracking_number}/").status_code == 404
    reader = client.get(f"/specs/model-spec/versions/{NEW}/").content.decode()
    assert "1 feedback item" in reader
