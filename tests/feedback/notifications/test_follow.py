"""Following: accounts follow and unfollow an item, a clause or a spec with a POST (CSRF, works
without JavaScript, htmx swaps the button); the public cannot follow what it cannot see; an
anonymous submitter switches messages about their item through their private link."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from feedback.models import Subscription, Unsubscribe, Visibility
from feedback.services import Submission, feedback_submit
from feedback.transitions import feedback_transition

from .conftest import first_anchor, last_id, recipients

pytestmark = pytest.mark.django_db

FOLLOW = reverse("notifications:follow")
UNFOLLOW = reverse("notifications:unfollow")


@pytest.fixture
def member(client, make_user):
    user = make_user("member")
    client.force_login(user)
    return user


def test_the_public_is_sent_to_sign_in_and_nothing_is_recorded(client, file_item):
    item = file_item()
    response = client.post(FOLLOW, {"item": item.tracking_number, "next": "/feedback/"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=/feedback/" in response["Location"]
    assert not Subscription.objects.exists()


def test_an_account_follows_and_unfollows_an_item(client, member, file_item, staff):
    item = file_item(submitter_email="anon@example.org")
    page = item.get_absolute_url()
    response = client.post(FOLLOW, {"item": item.tracking_number, "next": page})
    assert (response.status_code, response["Location"]) == (302, page)
    assert Subscription.objects.filter(user=member, item=item).count() == 1
    client.post(FOLLOW, {"item": item.tracking_number})  # idempotent
    assert Subscription.objects.filter(user=member).count() == 1

    start = last_id()
    feedback_transition(acting_user=staff("triager"), item=item, action="triage")
    assert "member@example.org" in recipients(after=start)

    response = client.post(
        UNFOLLOW, {"item": item.tracking_number, "next": "https://evil.example/"}
    )
    assert response["Location"] == page  # never an off-site redirect
    assert not Subscription.objects.filter(user=member).exists()


def test_clause_and_spec_follows(client, member, version):
    anchor = first_anchor(version)
    client.post(FOLLOW, {"spec": "model-spec", "clause": anchor})
    client.post(FOLLOW, {"spec": "model-spec"})
    follows = Subscription.objects.filter(user=member)
    assert {(s.clause.key if s.clause else None, bool(s.spec_id)) for s in follows} == {
        (anchor, False),
        (None, True),
    }
    client.post(UNFOLLOW, {"spec": "model-spec", "clause": anchor})
    assert list(Subscription.objects.filter(user=member).values_list("clause", flat=True)) == [None]


def test_internal_items_and_unknown_targets_are_404(client, member, file_item, staff):
    internal = file_item(user=staff("triager"), visibility=Visibility.INTERNAL)
    assert client.post(FOLLOW, {"item": internal.tracking_number}).status_code == 404
    assert client.post(FOLLOW, {"spec": "no-such-spec"}).status_code == 404
    assert client.post(FOLLOW, {"spec": "model-spec", "clause": "no_such"}).status_code == 404
    assert client.post(FOLLOW, {}).status_code == 400
    assert client.post(FOLLOW, {"item": "not a number"}).status_code == 400
    assert client.get(FOLLOW).status_code == 405
    assert not Subscription.objects.exists()


def test_htmx_swaps_the_button(client, member, file_item):
    item = file_item()
    response = client.post(FOLLOW, {"item": item.tracking_number}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-pressed="true"' in html and f'action="{UNFOLLOW}"' in html
    assert "<html" not in html
    response = client.post(UNFOLLOW, {"item": item.tracking_number}, headers={"HX-Request": "true"})
    assert 'aria-pressed="false"' in response.content.decode()


def test_following_again_lifts_an_earlier_unsubscribe(client, member, file_item):
    item = file_item()
    Unsubscribe.objects.create(email="member@example.org", scope=f"item:{item.pk}")
    Unsubscribe.objects.create(email="member@example.org", scope="digest")
    client.post(FOLLOW, {"item": item.tracking_number})
    assert list(Unsubscribe.objects.values_list("scope", flat=True)) == ["digest"]


def test_the_anonymous_submitter_switches_mail_through_the_private_link(client, version, staff):
    result = feedback_submit(
        acting_user=AnonymousUser(),
        submission=Submission(version=version, clause_id=first_anchor(version), kind="unclear",
                              summary="Words", submitter_email="anon@example.org"),
    )  # fmt: skip
    item, token = result.item, result.follow_token
    url = reverse(
        "notifications:submitter", kwargs={"tracking_number": item.tracking_number, "token": token}
    )
    wrong = reverse(
        "notifications:submitter",
        kwargs={"tracking_number": item.tracking_number, "token": "x" * 43},
    )
    assert client.post(wrong, {"mail": "off"}).status_code == 404
    assert client.get(url).status_code == 405

    response = client.post(url, {"mail": "off"})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "feedback:follow", kwargs={"tracking_number": item.tracking_number, "token": token}
    )
    triager = staff("triager")
    start = last_id()
    feedback_transition(acting_user=triager, item=item, action="triage")
    assert recipients(after=start) == []

    response = client.post(url, {"mail": "on"}, headers={"HX-Request": "true"})
    assert "Stop e-mails about this feedback" in response.content.decode()
    start = last_id()
    feedback_transition(acting_user=triager, item=item, action="start_review")
    assert recipients(after=start) == ["anon@example.org"]


def test_the_button_context_draws_the_current_state(rf, make_user, file_item):
    from django.template.loader import render_to_string

    from feedback.views_notify import follow_button_context

    item = file_item()
    request = rf.get(item.get_absolute_url())
    request.user = make_user("reader")
    html = render_to_string(
        "feedback/notify_follow.html",
        {"follow": follow_button_context(request, item=item)},
        request=request,
    )
    assert 'aria-pressed="false"' in html and f'value="{item.tracking_number}"' in html
    Subscription.objects.create(user=request.user, item=item)
    html = render_to_string(
        "feedback/notify_follow.html",
        {"follow": follow_button_context(request, item=item)},
        request=request,
    )
    assert 'aria-pressed="true"' in html and f'action="{UNFOLLOW}"' in html
