"""Sign-in throttling: failures count per (client address, login), so guessing one person's
password from one address stops, while that person can still sign in from elsewhere."""

import pytest
from django.conf import settings
from django.forms.forms import NON_FIELD_ERRORS
from django.urls import reverse

from tests.security.helpers import sign_in

ATTACKER = "203.0.113.7"
VICTIM = "198.51.100.20"


def _fail(client, login: str, remote_addr: str):
    return client.post(
        reverse("account_login"),
        {"login": login, "password": "wrong password"},
        REMOTE_ADDR=remote_addr,
    )


def _throttled(response) -> bool:
    return response.status_code == 200 and response.context["form"].has_error(
        NON_FIELD_ERRORS, "too_many_login_attempts"
    )


def _per_login_limit() -> int:
    rates = settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",")
    (per_key,) = [rate for rate in rates if rate.endswith("/key")]
    return int(per_key.split("/")[0])


@pytest.mark.django_db
def test_repeated_failures_for_one_login_from_one_address_are_throttled(client, make_account):
    make_account("victim")
    limit = _per_login_limit()
    for _ in range(limit):
        response = _fail(client, "victim", ATTACKER)
        assert response.status_code == 200
        assert response.context["form"].has_error(NON_FIELD_ERRORS)
        assert not _throttled(response)

    assert _throttled(_fail(client, "victim", ATTACKER))
    # Even the right password is refused from that address now: guessing has stopped.
    response = sign_in(client, "victim", remote_addr=ATTACKER)
    assert _throttled(response)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_victim_still_signs_in_from_another_address(client, make_account):
    make_account("victim")
    for _ in range(_per_login_limit() + 2):
        _fail(client, "victim", ATTACKER)
    assert _throttled(_fail(client, "victim", ATTACKER))

    response = sign_in(client, "victim", remote_addr=VICTIM)
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


@pytest.mark.django_db
def test_the_login_is_counted_case_insensitively(client, make_account):
    make_account("victim")
    for _ in range(_per_login_limit()):
        _fail(client, "VICTIM", ATTACKER)
    assert _throttled(_fail(client, "victim", ATTACKER))


@pytest.mark.django_db
def test_one_address_cannot_spray_many_logins(client, make_account):
    """The per-address limit caps guessing across usernames from one address."""
    make_account("victim")
    rates = settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",")
    (per_ip,) = [rate for rate in rates if rate.endswith("/ip")]
    limit = int(per_ip.split("/")[0])
    for n in range(limit):
        assert not _throttled(_fail(client, f"user{n}", ATTACKER))
    assert _throttled(_fail(client, "someone-new", ATTACKER))
    # Another address is unaffected.
    assert sign_in(client, "victim", remote_addr=VICTIM).status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_does_not_reset_the_count(client, make_account):
    """allauth rolls back only the successful attempt, so an attacker who also owns an account
    cannot interleave good sign-ins to keep guessing."""
    make_account("victim")
    limit = _per_login_limit()
    for _ in range(limit - 1):
        _fail(client, "victim", ATTACKER)
    assert sign_in(client, "victim", remote_addr=ATTACKER).status_code == 302
    client.logout()
    _fail(client, "victim", ATTACKER)
    assert _throttled(_fail(client, "victim", ATTACKER))


@pytest.mark.django_db
def test_ipv6_neighbours_share_a_count(client, make_account):
    """One host usually holds a whole IPv6 /64: addresses inside it are one client."""
    make_account("victim")
    for n in range(_per_login_limit()):
        _fail(client, "victim", f"2001:db8:1:2::{n + 1:x}")
    assert _throttled(_fail(client, "victim", "2001:db8:1:2::ffff"))
    assert sign_in(client, "victim", remote_addr="2001:db8:9:9::1").status_code == 302
