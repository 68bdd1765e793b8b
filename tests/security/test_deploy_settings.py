"""The production profile passes Django's deployment checklist and refuses to start with a
weak secret. Run as separate processes, the way the site is started."""

import base64
import os
import secrets
import subprocess
import sys

from django.conf import settings

# Environment that could weaken the profile is not inherited: the defaults are under test.
# (DJANGO_ALLOW_ASYNC_UNSAFE is the test run's own, for Playwright; production never sets it.)
_DROPPED = {
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    environment.update(DJANGO_SETTINGS_MODULE="modelspec_site.settings.prod", **env)
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="tracker.example.org",
        AUDIT_CHECKPOINT_SIGNING_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_checkpoints_would_be_signed_with_a_generated_key():
    result = _manage(
        "check",
        "--deploy",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="tracker.example.org",
        AUDIT_CHECKPOINT_SIGNING_KEY="",
    )
    assert "audit.W001" in result.stdout + result.stderr


def test_production_refuses_a_weak_or_missing_secret_key():
    for key in ("", "insecure-development-key-change-me", "short"):
        result = _manage("check", SECRET_KEY=key)
        assert result.returncode != 0
        assert "SECRET_KEY" in result.stderr
