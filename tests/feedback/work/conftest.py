"""Fixtures for the pages where items are worked: items filed through the real service, staff
by role, and a signed-in client (with two-factor sign-in recorded) per person."""

import pytest
from django.test import Client

from tests.conftest import sign_in_two_factor
from tests.feedback.workflow import conftest as _workflow

# The workflow tests' fixtures, shared: items filed through the real service, staff by role.
clause_of_rank = _workflow.clause_of_rank
version = _workflow.version
file_item = _workflow.file_item
staff = _workflow.staff


def sign_in(user) -> Client:
    """A client signed in as `user`, past two-factor sign-in."""
    return sign_in_two_factor(Client(), user)


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
