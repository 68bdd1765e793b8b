"""Fixtures for the pages where items are worked: items filed through the real service, staff
by role, and a signed-in client (with two-factor sign-in recorded) per person."""

import time

import pytest
from django.test import Client

from tests.feedback.workflow import conftest as _workflow

# The workflow tests' fixtures, shared: items filed through the real service, staff by role.
clause_of_rank = _workflow.clause_of_rank
version = _workflow.version
file_item = _workflow.file_item
staff = _workflow.staff


def sign_in(user) -> Client:
    """A client signed in as `user`, whose session passed two-factor sign-in when the user is
    staff (as allauth records it after a TOTP code)."""
    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    client = Client()
    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "username": user.username},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()
    return client


@pytest.fixture
def as_staff(staff):
    """as_staff("reviewer", username="r1") -> (user, signed-in client)."""

    def make(*roles, username=None):
        user = staff(*roles, username=username)
        return user, sign_in(user)

    return make


def page_url(item) -> str:
    return f"/staff/items/{item.tracking_number}/"


def main_of(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]
