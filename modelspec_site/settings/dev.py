"""Development profile: `make run`. Debug on, e-mail to files under var/mail."""

from .base import *  # noqa: F403
from .base import _mailer, env, env_bool

DEBUG = env_bool("DEBUG", True)
MAILERS = {
    "default": _mailer(env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"))
}
