"""Settings shared by every profile. Everything that differs between machines comes from the
environment; the profiles (dev, test, prod) only choose safe defaults for their use."""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY", "insecure-development-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "modelspec_site.audit",
    "modelspec_site.outbox",
    "modelspec_site.accounts",
    "revisions",
    "feedback",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "modelspec_site.accounts.middleware.StaffTwoFactorMiddleware",
    "modelspec_site.middleware.PrivateCacheMiddleware",
]

ROOT_URLCONF = "modelspec_site.urls"
WSGI_APPLICATION = "modelspec_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "modelspec_site.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", "postgres://modelspec@127.0.0.1:54329/modelspec"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60") or 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("CACHE_URL")}
        if env("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Outside production whitenoise serves straight from the app and project static folders.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "modelspec_site" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Accounts: django-allauth with TOTP; staff must use it (see accounts.middleware) ---
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_ADAPTER = "modelspec_site.accounts.adapter.AccountAdapter"
# Failed logins are limited per (IP, login) pair — the adapter keys "key" limits that way — so
# nobody can lock a victim out from elsewhere.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Model Spec tracker"
STAFF_ROLES = ["triager", "reviewer", "editor", "moderator", "auditor"]


# --- E-mail (Django 6.1 mailers) ---
# EMAIL_URL-style pieces from the environment: the backend and, for SMTP, host, port, TLS and
# credentials. Development writes messages to files under var/mail; tests keep them in memory.
def _mailer(backend: str) -> dict:
    if backend.endswith("filebased.EmailBackend"):
        return {
            "BACKEND": backend,
            "OPTIONS": {"file_path": env("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))},
        }
    if backend.endswith("smtp.EmailBackend"):
        return {
            "BACKEND": backend,
            "OPTIONS": {
                "host": env("EMAIL_HOST", "localhost"),
                "port": int(env("EMAIL_PORT", "25") or 25),
                "username": env("EMAIL_HOST_USER", ""),
                "password": env("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", False),
                "timeout": 10,
            },
        }
    return {"BACKEND": backend}


MAILERS = {"default": _mailer(env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"))}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Model Spec tracker <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery: a real worker when a broker is configured, in-process tasks otherwise ---
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The hour (in TIME_ZONE) at which reviewers get their daily digest and staff their reminders.
FEEDBACK_DIGEST_HOUR = int(env("FEEDBACK_DIGEST_HOUR", "7") or 7)
# The outbox sweep re-queues undelivered messages every minute; a run that waited longer
# than that in the queue is dropped (the next one does the same work).
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "outbox.sweep", "schedule": 60.0, "options": {"expires": 55}},
    "idempotency-purge": {"task": "feedback.purge_idempotency_records", "schedule": 86400.0},
    # Publish jobs whose task was lost or whose worker died are queued again (revisions).
    "publish-sweep": {
        "task": "revisions.publish_sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Daily. Both keep to one message per recipient per day (per ageing period for reminders),
    # so an extra or a repeated run is harmless.
    "feedback-reviewer-digest": {
        "task": "feedback.send_reviewer_digest",
        "schedule": crontab(minute=0, hour=FEEDBACK_DIGEST_HOUR),
        "options": {"expires": 3600},
    },
    "feedback-ageing-reminders": {
        "task": "feedback.send_ageing_reminders",
        "schedule": crontab(minute=30, hour=FEEDBACK_DIGEST_HOUR),
        "options": {"expires": 3600},
    },
    # Internal items and notes scheduled for publication (idempotent), and the transparency
    # dashboard's default view kept warm in the cache (it lives 15 minutes).
    "feedback-publish-scheduled": {
        "task": "feedback.publish_scheduled",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    "feedback-transparency": {
        "task": "feedback.transparency_precompute",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # One signed ledger checkpoint per UTC day (idempotent: a second run that day does nothing).
    "audit-checkpoint": {
        "task": "audit.checkpoint_record",
        "schedule": crontab(minute=5, hour=0),
        "options": {"expires": 3600},
    },
}

# --- Ledger checkpoints (docs/operations.md, "Ledger checkpoints") ---
# Base64 of the 32-byte Ed25519 private key. When it is unset, a key is generated once in
# AUDIT_CHECKPOINT_KEY_FILE (development and tests); `check --deploy` warns about that.
AUDIT_CHECKPOINT_SIGNING_KEY = env("AUDIT_CHECKPOINT_SIGNING_KEY", "")
AUDIT_CHECKPOINT_KEY_FILE = env(
    "AUDIT_CHECKPOINT_KEY_FILE", str(BASE_DIR / "var" / "audit-checkpoint-ed25519.key")
)
# A directory outside the database that receives a copy of every checkpoint (JSON), if set.
AUDIT_CHECKPOINT_DIR = env("AUDIT_CHECKPOINT_DIR", "")

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "modelspec_site.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon_write": "20/hour", "user_write": "120/hour"},
    "NUM_PROXIES": int(env("NUM_PROXIES", "0") or 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Model Spec feedback tracker API",
    "DESCRIPTION": "Read published specification versions and their clauses; file and follow feedback.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "VersionStateEnum": "revisions.models.Version.State",
        "FeedbackStateEnum": "feedback.models.State",
        "AnchorOutcomeEnum": "feedback.models.AnchorOutcome",
    },
}

# --- Security headers ---
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- The site ---
MODELSPEC_DEFAULT_SPEC = env("MODELSPEC_DEFAULT_SPEC", "model-spec")
# The site's public address, for links in e-mails.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")
MODELSPEC_DATA_DIR = BASE_DIR / "data" / "model-spec"
MODELSPEC_MAX_IMPORT_BYTES = 5 * 1024 * 1024
# Items waiting longer than this in one state are highlighted in the triage queue.
FEEDBACK_AGEING_DAYS = int(env("FEEDBACK_AGEING_DAYS", "14") or 14)
# The licence of the public feedback and decisions in the open data downloads (/data/); the
# specification's own text is CC0.
OPEN_DATA_LICENSE = env("OPEN_DATA_LICENSE", "CC BY 4.0") or "CC BY 4.0"
# Items carried to a new version whose passage was re-found with less confidence than this
# (0-100), and orphans, are listed in the triage queue's "Re-anchoring needs a look".
FEEDBACK_REANCHOR_REVIEW_BELOW = int(env("FEEDBACK_REANCHOR_REVIEW_BELOW", "60") or 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
