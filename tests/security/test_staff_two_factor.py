"""Staff must sign in with a second factor; everyone else is left alone.

These drive allauth's real pages with the test client: password sign-in, TOTP enrolment from
the secret shown on the page, MFA sign-in and reauthentication, and the Django admin behind
allauth's login."""

from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from tests.security.helpers import PASSWORD, secret_on_page, sign_in, totp_code


def _path(url: str) -> str:
    return urlsplit(url).path


# on_commit must really run: allauth announces a new authenticator after the commit, and that
# announcement is what marks the enrolling session as two-factor. The `db` fixture's wrapping
# transaction would never commit.
@pytest.mark.django_db(transaction=True)
def test_staff_without_totp_must_enrol_then_reaches_admin(client, make_staff):
    make_staff("tina")
    admin_url = reverse("admin:index")

    response = sign_in(client, "tina", next_url=admin_url)
    assert response.status_code == 302
    assert response["Location"] == admin_url

    # The password alone does not open the admin: enrol an authenticator first.
    response = client.get(admin_url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("mfa_activate_totp")
    assert parse_qs(location.query)["next"] == [admin_url]

    # The same holds for any other page outside /accounts/.
    response = client.get("/__probe__/")
    assert response.status_code == 302
    assert _path(response["Location"]) == reverse("mfa_activate_totp")

    # allauth asks for the password once more before an authenticator can be added (a fresh
    # sign-in does not count as a confirmation), then shows the enrolment page.
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert _path(response["Location"]) == reverse("account_reauthenticate")
    response = client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302
    assert _path(response["Location"]) == reverse("mfa_activate_totp")
    page = client.get(response["Location"])
    assert page.status_code == 200
    secret = secret_on_page(page.content.decode())

    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    response = client.post(reverse("mfa_activate_totp"), {"code": wrong})
    assert response.status_code == 200
    assert response.context["form"].has_error("code", "incorrect_code")
    assert not Authenticator.objects.filter(type=Authenticator.Type.TOTP).exists()
    assert client.get(admin_url).status_code == 302

    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert _path(response["Location"]) == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(type=Authenticator.Type.TOTP).count() == 1

    response = client.get(admin_url)
    assert response.status_code == 200
    assert response.templates[0].name == "admin/index.html"


@pytest.mark.django_db
def test_staff_with_totp_but_no_second_factor_in_session_must_reauthenticate(client, make_staff):
    user = make_staff("rita", roles=("reviewer",))
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    # A session that never saw a second factor (here: signed in without allauth).
    client.force_login(user)
    admin_url = reverse("admin:index")

    response = client.get(admin_url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("mfa_reauthenticate")
    assert parse_qs(location.query)["next"] == [admin_url]

    response = client.post(response["Location"], {"code": "not-a-code"})
    assert response.status_code == 200
    assert client.get(admin_url).status_code == 302

    response = client.post(
        f"{reverse('mfa_reauthenticate')}?next={admin_url}", {"code": totp_code(secret)}
    )
    assert response.status_code == 302
    assert response["Location"] == admin_url
    assert client.get(admin_url).status_code == 200


@pytest.mark.django_db
def test_staff_with_totp_signs_in_with_code_and_reaches_admin(client, make_staff):
    user = make_staff("eddie", roles=("editor", "reviewer"))
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    admin_url = reverse("admin:index")

    response = sign_in(client, "eddie", next_url=admin_url)
    # allauth stops at the code stage: not signed in yet.
    assert response.status_code == 302
    assert _path(response["Location"]) == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    # The admin sends them to sign in, and allauth resumes the pending code stage.
    final_url, _ = client.get(admin_url, follow=True).redirect_chain[-1]
    assert _path(final_url) == reverse("mfa_authenticate")

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == admin_url
    assert client.get(admin_url).status_code == 200


@pytest.mark.django_db
def test_a_used_totp_code_is_refused_the_second_time(client, make_staff):
    user = make_staff("rita", roles=("reviewer",))
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    code = totp_code(secret)
    client.force_login(user)
    url = f"{reverse('mfa_reauthenticate')}?next=/__probe__/"
    assert client.post(url, {"code": code}).status_code == 302

    other = client.__class__()
    other.force_login(user)
    response = other.post(url, {"code": code})
    assert response.status_code == 200
    assert response.context["form"].has_error("code")
    assert other.get("/__probe__/").status_code == 302


@pytest.mark.django_db
def test_commenter_is_not_asked_for_a_second_factor(client, make_account):
    carol = make_account("carol")
    response = sign_in(client, "carol")
    assert response.status_code == 302
    assert response["Location"] == "/__probe__/"

    response = client.get("/__probe__/")
    assert response.status_code == 200
    records = get_authentication_records(response.wsgi_request, carol)
    assert [record["method"] for record in records] == ["password"]


@pytest.mark.django_db
def test_commenter_cannot_enter_the_admin(client, make_account):
    make_account("carol")
    sign_in(client, "carol")
    response = client.get(reverse("admin:index"), follow=True)
    assert response.status_code == 403
    assert all("/2fa/" not in url for url, _ in response.redirect_chain)


@pytest.mark.django_db
def test_role_holder_without_is_staff_flag_still_needs_two_factor(client, make_account):
    """Roles, not only Django's is_staff flag, make someone staff for two-factor purposes."""
    from modelspec_site.accounts.roles import roles_ensure

    user = make_account("ada")
    user.groups.add(*roles_ensure(["auditor"]))
    sign_in(client, "ada")
    response = client.get("/__probe__/")
    assert response.status_code == 302
    assert _path(response["Location"]) == reverse("mfa_activate_totp")


@pytest.mark.django_db
def test_admin_login_redirects_to_allauth_sign_in(client, make_staff):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")

    # Django's own admin login form does not accept a password either.
    user = make_staff("tina")
    response = client.post(
        reverse("admin:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert _path(response["Location"]) == reverse("account_login")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_htmx_request_from_unconfirmed_staff_gets_a_full_page_redirect(client, make_staff):
    make_staff("tina")
    sign_in(client, "tina")
    response = client.get("/__probe__/", headers={"HX-Request": "true"})
    assert response.status_code == 302
    assert _path(response["HX-Redirect"]) == reverse("mfa_activate_totp")
