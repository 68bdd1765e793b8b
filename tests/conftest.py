"""Shared fixtures. Tests run against the real PostgreSQL that `make test` starts."""

import os
from pathlib import Path

import pytest
from django.core.cache import caches

DATA = Path(__file__).resolve().parents[1] / "data" / "model-spec"
BUNDLED = ["2025-02-12", "2025-04-11", "2025-09-12"]


def pytest_configure(config):
    # Transactional tests empty every table with TRUNCATE, which the ledger refuses; let that
    # one flush through (see modelspec_site.audit.testing).
    from modelspec_site.audit.testing import allow_ledger_flush

    allow_ledger_flush()
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the bundled Model Spec versions once for the session (like `make run` does)."""
    from revisions.services import spec_ensure, version_import

    with django_db_blocker.unblock():
        spec = spec_ensure(slug="model-spec", title="OpenAI Model Spec")
        for label in BUNDLED:
            version_import(
                spec=spec, label=label, data=(DATA / f"{label}.md").read_bytes(), publish=True
            )


@pytest.fixture(autouse=True)
def _clear_caches():
    from revisions.views import reader_cache_clear

    caches["default"].clear()
    reader_cache_clear()
    yield


@pytest.fixture
def bundled_source():
    return lambda label: (DATA / f"{label}.md").read_bytes()


@pytest.fixture
def make_user(db, django_user_model):
    from django.contrib.auth.models import Group

    def make(username="someone", *, roles=(), **extra):
        user = django_user_model.objects.create_user(
            username=username, email=f"{username}@example.org", password="pw-12345-long", **extra
        )
        for role in roles:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """The system Chromium; Playwright never downloads a browser here."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


def sign_in_two_factor(client, user):
    """Sign `user` in on `client` with a session that passed two-factor sign-in (as allauth
    records it after a TOTP code), so the staff pages let it through. Returns the client."""
    import time

    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "username": user.get_username()},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()
    return client


@pytest.fixture
def staff_client(client, make_user):
    """A client signed in as staff holding `roles`, past two-factor sign-in."""

    def sign_in(*roles, username="staffer"):
        return sign_in_two_factor(client, make_user(username, roles=roles, is_staff=True))

    return sign_in


@pytest.fixture
def eager_tasks():
    """Tasks run in-process, as settings arrange when no broker is configured (`make test`
    configures a Redis broker, so tests that call a task and expect its effect ask for this)."""
    from modelspec_site.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
