"""Test profile: `make test`. Real PostgreSQL (DATABASE_URL from the test script), fast hashing,
e-mail kept in memory so tests can assert what was sent."""

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
ALLOWED_HOSTS = ["*"]
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
