"""Celery application. The broker URL comes from the environment (CELERY_BROKER_URL)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelspec_site.settings.dev")

app = Celery("modelspec_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
