"""Fixtures for the ledger tests.

The session setup in tests/conftest.py imports the bundled spec versions, which records ledger
events, and also switches on `modelspec_site.audit.testing.allow_ledger_flush` for
transactional tests. Tests that count from seq 1 ask for `empty_ledger`; tests that commit
(transactional) count from whatever is there.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from modelspec_site.accounts.roles import AUDITOR


@pytest.fixture
def empty_ledger(db) -> None:
    """Remove every event inside this test's transaction, as the table owner can; the
    test's rollback brings them back. Never for transactional tests: it would be permanent."""
    assert connection.in_atomic_block, "empty_ledger needs the db fixture's transaction"
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete")
        cursor.execute("DELETE FROM audit_event")
        cursor.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete")


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("alice", "alice@example.org", "pw-alice-123")


@pytest.fixture
def auditor(db):
    person = get_user_model().objects.create_user("audrey", "audrey@example.org", "pw-aud-123")
    person.groups.add(Group.objects.get_or_create(name=AUDITOR)[0])
    return person


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
