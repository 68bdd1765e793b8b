"""Fixtures for the reading API: a draft of the bundled spec, and an anonymous client that
stays anonymous when `staff_client` signs the shared `client` in."""

import pytest
from django.test import Client

from revisions.models import Spec
from revisions.services import version_import

DRAFT_LABEL = "2099-01-01"
# One clause only in the draft, and one the published versions have too (with a new text).
DRAFT_SOURCE = b"# X {#x}\n\nDraft.\n\n# Overview {#overview}\n\nA new overview.\n"


@pytest.fixture
def draft(db):
    return version_import(
        spec=Spec.objects.get(slug="model-spec"), label=DRAFT_LABEL, data=DRAFT_SOURCE
    ).version


@pytest.fixture
def anonymous(db):
    return Client()
