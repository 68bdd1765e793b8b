"""The follow controls appear where people need them: on a public item's page for accounts and
visitors, and on the anonymous submitter's private page (their e-mail switch)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from feedback.models import Subscription
from feedback.services import Submission, feedback_submit
from revisions.models import Version


@pytest.fixture
def filed(db):
    version = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    return feedback_submit(
        acting_user=AnonymousUser(),
        submission=Submission(
            version=version,
            clause_id="letter_and_spirit",
            kind="unclear",
            summary="Follow me",
            submitter_email="anon@example.org",
        ),
    )


@pytest.mark.django_db
def test_an_account_follows_an_item_from_its_page(client, make_user, filed):
    item = filed.item
    page = client.get(item.get_absolute_url())
    assert b'action="/notifications/follow/"' in page.content
    user = make_user("reader")
    client.force_login(user)
    page = client.get(item.get_absolute_url())
    assert b"Follow" in page.content
    response = client.post("/notifications/follow/", {"item": item.tracking_number})
    assert response.status_code in (200, 302, 303)
    assert Subscription.objects.filter(user=user, item=item).exists()


@pytest.mark.django_db
def test_the_private_page_has_the_submitters_email_switch(client, filed):
    item = filed.item
    url = f"/feedback/{item.tracking_number}/follow/{filed.follow_token}/"
    page = client.get(url)
    assert page.status_code == 200
    assert b"Stop e-mails about this feedback" in page.content
    # The public page never shows the switch (it carries the private token).
    public = client.get(item.get_absolute_url())
    assert filed.follow_token.encode() not in public.content
    assert b"Stop e-mails about this feedback" not in public.content


@pytest.mark.django_db
def test_a_clause_page_offers_to_follow_the_clause_and_the_spec(client, make_user):
    from revisions.models import ClauseText

    text = ClauseText.objects.select_related("clause").get(
        version__spec__slug="model-spec", version__label="2025-09-12", anchor="letter_and_spirit"
    )
    url = "/specs/model-spec/versions/2025-09-12/clauses/letter_and_spirit/"
    user = make_user("clausefan")
    client.force_login(user)
    page = client.get(url)
    assert page.status_code == 200
    assert b"Follow this clause by e-mail" in page.content
    assert b"Follow this specification by e-mail" in page.content
    client.post("/notifications/follow/", {"spec": "model-spec", "clause": text.clause.key})
    assert Subscription.objects.filter(user=user, clause=text.clause).exists()
    assert b"Following this clause (stop)" in client.get(url).content
