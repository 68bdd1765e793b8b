"""Helpers shared by the security tests."""

import re
import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.urls import reverse

PASSWORD = "correct horse battery staple 42"


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now for `secret`. Close to the end of a period, wait
    for the next one, so the code is still current when the server checks it."""
    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < 2:
        time.sleep(period - time.time() % period + 0.05)
    counter = int(time.time()) // period
    return format_hotp_value(hotp_value(secret, counter))


def secret_on_page(html: str) -> str:
    """The TOTP secret as the activation page shows it to the person enrolling."""
    match = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7=]+)"', html)
    assert match, "the activation page shows no secret"
    return match.group(1)


def sign_in(client, login: str, *, next_url: str = "/__probe__/", remote_addr="127.0.0.1"):
    return client.post(
        reverse("account_login"),
        {"login": login, "password": PASSWORD, "next": next_url},
        REMOTE_ADDR=remote_addr,
    )
