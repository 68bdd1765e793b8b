"""Response headers that protect people: Content-Security-Policy with per-response nonces, and
no shared caching of anything a signed-in person sees."""

import re
from html.parser import HTMLParser

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from tests.security.helpers import PASSWORD, sign_in, totp_code


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(response) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(response.content.decode())
    return parser.tags


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        directive.split()[0]: directive.split()[1:]
        for directive in (part.strip() for part in header.split(";"))
        if directive
    }


def _nonce(policy: dict[str, list[str]]) -> str:
    (source,) = [s for s in policy["script-src"] if s.startswith("'nonce-")]
    return re.fullmatch(r"'nonce-([^']+)'", source).group(1)


def _assert_page_obeys_policy(response) -> None:
    """What the browser would block: inline style attributes and <style> blocks (style-src
    'self' only), event-handler attributes, and inline scripts without the nonce."""
    nonce = _nonce(_policy(response))
    for tag, attrs in _tags(response):
        assert "style" not in attrs, f"<{tag} style=…> is blocked by the policy"
        assert not [name for name in attrs if name.startswith("on")], f"<{tag} on…=> is blocked"
        assert tag != "style", "<style> blocks are blocked by the policy"
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            assert attrs.get("nonce") == nonce, "inline script without the nonce"


@pytest.mark.django_db
def test_html_page_has_a_nonce_policy_and_the_htmx_script_carries_the_nonce(client):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    nonce = _nonce(policy)
    assert len(nonce) >= 16

    scripts = [attrs for tag, attrs in _tags(response) if tag == "script"]
    htmx = [attrs for attrs in scripts if "htmx" in (attrs.get("src") or "")]
    assert len(htmx) == 1
    assert htmx[0]["nonce"] == nonce
    _assert_page_obeys_policy(response)


@pytest.mark.django_db
def test_each_response_gets_a_fresh_nonce(client):
    first = _nonce(_policy(client.get(reverse("account_login"))))
    second = _nonce(_policy(client.get(reverse("account_login"))))
    assert first != second


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    ["account_login", "account_signup", "account_reset_password", "account_reset_password_done"],
)
def test_public_account_pages_obey_the_policy(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    _assert_page_obeys_policy(response)


@pytest.mark.django_db
def test_totp_activation_page_works_under_the_policy(client, make_staff):
    """allauth's enrolment page shows the QR code as a data: image; the policy must allow that
    and the page must need nothing inline."""
    make_staff("tina")
    sign_in(client, "tina")
    url = reverse("mfa_activate_totp")
    client.post(f"{reverse('account_reauthenticate')}?next={url}", {"password": PASSWORD})
    response = client.get(url)
    assert response.status_code == 200
    assert "data:" in _policy(response)["img-src"]
    images = [attrs for tag, attrs in _tags(response) if tag == "img"]
    assert len(images) == 1
    assert images[0]["src"].startswith("data:image/svg+xml;base64,")
    assert images[0]["alt"] and images[0]["alt"] != response.context["form"].secret
    _assert_page_obeys_policy(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name", ["mfa_index", "mfa_view_recovery_codes", "account_email", "account_change_password"]
)
def test_signed_in_account_pages_obey_the_policy(client, make_staff, url_name):
    user = make_staff("tina")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    sign_in(client, "tina")
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    response = client.get(reverse(url_name), follow=True)
    assert response.status_code == 200
    _assert_page_obeys_policy(response)


@pytest.mark.django_db
def test_signed_in_responses_are_private_and_never_stored(client, make_account):
    make_account("carol")
    anonymous = client.get("/__probe__/")
    assert "private" not in anonymous.get("Cache-Control", "")

    sign_in(client, "carol")
    for url in ("/__probe__/", reverse("account_email"), reverse("home")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store", url
        assert "Cookie" in response["Vary"], url
        assert "HX-Request" in response["Vary"], url


@pytest.mark.django_db
def test_staff_pages_are_private_and_never_stored(client, make_staff):
    user = make_staff("tina")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    sign_in(client, "tina", next_url=reverse("admin:index"))
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
