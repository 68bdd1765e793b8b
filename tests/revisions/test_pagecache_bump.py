"""The reader pages' cache generation moves when something they show changes: at once outside a
transaction, only after COMMIT inside one (never for a rollback), and from nothing when the
counter was evicted."""

import pytest
from django.core.cache import cache
from django.db import transaction

from revisions import pagecache


@pytest.fixture(autouse=True)
def _clean_generation():
    cache.delete(pagecache.GENERATION_KEY)
    yield
    cache.delete(pagecache.GENERATION_KEY)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_generation_moves_at_once():
    pagecache.bump()
    assert pagecache.generation() == 1
    pagecache.bump()
    assert pagecache.generation() == 2


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_it_waits_for_the_commit():
    with transaction.atomic():
        pagecache.bump()
        assert pagecache.generation() == 0
    assert pagecache.generation() == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_it_alone():
    with pytest.raises(RuntimeError), transaction.atomic():
        pagecache.bump()
        raise RuntimeError
    assert pagecache.generation() == 0
