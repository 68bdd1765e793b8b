"""Public sign-up with e-mail verification (django-allauth), through the real pages."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

pytestmark = pytest.mark.django_db


def test_sign_up_requires_verifying_the_e_mail_address(client, django_user_model):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "reader@example.org",
            "username": "reader",
            "password1": "a long enough passphrase 7",
            "password2": "a long enough passphrase 7",
        },
    )
    assert response.status_code == 302
    user = django_user_model.objects.get(username="reader")
    assert not EmailAddress.objects.get(user=user).verified
    # Not signed in until the address is confirmed.
    assert "_auth_user_id" not in client.session
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.org"]
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", message.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert page.status_code == 200
    confirmed = client.post(f"/{path}")
    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sign_up_errors_are_shown_on_the_form(client, django_user_model):
    response = client.post(
        "/accounts/signup/",
        {"email": "not-an-address", "username": "x", "password1": "a", "password2": "b"},
    )
    assert response.status_code == 200
    assert not django_user_model.objects.filter(username="x").exists()
    assert b"aria-invalid" in response.content or b"errorlist" in response.content
