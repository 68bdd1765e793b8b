"""Fixtures for the security tests: accounts in a known state, and the site's URLs plus a
plain probe page. (The root conftest clears the caches, where allauth keeps its rate limits
and used TOTP codes, around every test.)"""

import io
import types

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.http import HttpResponse
from django.urls import path

from tests.security.helpers import PASSWORD


def _probe(request):
    return HttpResponse("probe", content_type="text/plain")


@pytest.fixture(autouse=True)
def site_urls(settings):
    """The site's URLs plus /__probe__/: a plain page outside /accounts/ that the site-wide
    middleware must treat like any other page, whatever the apps' own pages need."""
    from modelspec_site import urls as site

    module = types.ModuleType("security_test_urlconf")
    module.urlpatterns = [path("__probe__/", _probe, name="test-probe"), *site.urlpatterns]
    for name in ("handler400", "handler403", "handler404", "handler500"):
        setattr(module, name, getattr(site, name))
    settings.ROOT_URLCONF = module


@pytest.fixture
def make_account(db):
    """A commenter's account as sign-up leaves it once the address is confirmed."""

    def make(username: str, **fields):
        user = get_user_model().objects.create_user(
            username=username, email=f"{username}@example.org", password=PASSWORD, **fields
        )
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    return make


@pytest.fixture
def make_staff(db, tmp_path):
    """A staff account made the way operators make them: with create_staff."""

    def make(username: str, *, roles=("triager",)):
        password_file = tmp_path / f"{username}.password"
        password_file.write_text(PASSWORD + "\n")
        args = ["create_staff", username, "--email", f"{username}@example.org"]
        for role in roles:
            args += ["--role", role]
        call_command(*args, "--password-file", str(password_file), stdout=io.StringIO())
        return get_user_model().objects.get(username=username)

    return make
