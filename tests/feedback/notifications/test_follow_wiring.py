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
