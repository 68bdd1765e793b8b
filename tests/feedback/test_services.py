"""feedback_submit and friends, through the real database and ledger."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.errors import (
    AlreadyEndorsed,
    CommentPeriodClosed,
    NotAllowed,
    QuoteMismatch,
    TargetNotFound,
)
from feedback.models import FeedbackItem
from feedback.selectors import feedback_counts_by_clause, feedback_get, feedback_visible_to
from feedback.services import (
    Quote,
    Submission,
    feedback_endorse,
    feedback_hide,
    feedback_submit,
    token_hash,
)
from modelspec_site.audit.models import Event
from revisions.models import ClauseText, Version

pytestmark = pytest.mark.django_db

CLAUSE = "follow_all_applicable_instructions"


@pytest.fixture
def version():
    return Version.objects.select_related("spec").get(spec__slug="model-spec", label="2025-09-12")


def submission(version, **overrides):
    values = {
        "version": version,
        "clause_id": CLAUSE,
        "kind": "unclear",
        "summary": "What counts as a later instruction?",
        "body": "The ordering is unclear when messages arrive together.",
    }
    return Submission(**(values | overrides))


def test_submit_stores_the_item_with_a_tracking_number_and_an_event(version):
    text = ClauseText.objects.get(version=version, anchor=CLAUSE)
    start = text.plain_text.index("applicable instructions")
    result = feedback_submit(
        acting_user=None,
        submission=submission(
            version,
            quote=Quote(exact="applicable instructions", start=start),
            submitter_email="me@example.org",
            example_slug=text.examples.first().slug,
        ),
    )
    item = result.item
    year = timezone.now().year
    assert item.tracking_number.startswith(f"MS-{year}-")
    assert (item.position_start, item.position_end) == (start, start + 23)
    assert item.quote_exact == "applicable instructions"
    assert item.follow_token_hash == token_hash(result.follow_token)
    assert result.follow_token not in item.follow_token_hash
    event = Event.objects.latest("seq")
    assert event.action == "feedback.submitted"
    assert event.actor_kind == "anonymous"
    assert event.data["tracking_number"] == item.tracking_number
    assert "me@example.org" not in str(event.data)


def test_tracking_numbers_count_up(version):
    first = feedback_submit(acting_user=None, submission=submission(version)).item
    second = feedback_submit(acting_user=None, submission=submission(version)).item
    assert int(second.tracking_number.rsplit("-", 1)[1]) == (
        int(first.tracking_number.rsplit("-", 1)[1]) + 1
    )


def test_refusals_store_nothing(version, make_user):
    before = (FeedbackItem.objects.count(), Event.objects.count())
    with pytest.raises(QuoteMismatch):
        feedback_submit(
            acting_user=None, submission=submission(version, quote=Quote(exact="not in there"))
        )
    with pytest.raises(TargetNotFound):
        feedback_submit(acting_user=None, submission=submission(version, clause_id="nope"))
    with pytest.raises(TargetNotFound):
        feedback_submit(acting_user=None, submission=submission(version, example_slug="nope"))
    with pytest.raises(NotAllowed):
        feedback_submit(
            acting_user=make_user("public"), submission=submission(version, visibility="internal")
        )
    old = Version.objects.get(spec__slug="model-spec", label="2025-04-11")
    with pytest.raises(CommentPeriodClosed):
        feedback_submit(acting_user=None, submission=submission(old))
    assert (FeedbackItem.objects.count(), Event.objects.count()) == before


def test_comment_period_dates(version, make_user):
    now = timezone.now()
    Version.objects.filter(pk=version.pk).update(comment_closes_at=now - timedelta(days=1))
    version.refresh_from_db()
    with pytest.raises(CommentPeriodClosed):
        feedback_submit(acting_user=None, submission=submission(version))
    staff = make_user("tri", roles=["triager"])
    item = feedback_submit(
        acting_user=staff, submission=submission(version, visibility="internal")
    ).item
    assert item.visibility == "internal"
    assert item.tracking_number.startswith("MSI-")  # its own series: no gaps in the public one
    assert Event.objects.latest("seq").visibility == "internal"
    Version.objects.filter(pk=version.pk).update(
        comment_closes_at=None, comment_opens_at=now + timedelta(days=1)
    )
    version.refresh_from_db()
    with pytest.raises(CommentPeriodClosed):
        feedback_submit(acting_user=None, submission=submission(version))


def test_internal_items_are_invisible_to_the_public(version, make_user):
    staff = make_user("rev", roles=["reviewer"])
    internal = feedback_submit(
        acting_user=staff, submission=submission(version, visibility="internal")
    ).item
    public = feedback_submit(acting_user=None, submission=submission(version)).item
    commenter = make_user("commenter")
    for viewer in (None, commenter):
        visible = set(feedback_visible_to(viewer).values_list("tracking_number", flat=True))
        assert public.tracking_number in visible and internal.tracking_number not in visible
        assert feedback_get(viewer=viewer, tracking_number=internal.tracking_number) is None
        counts = feedback_counts_by_clause(viewer=viewer, version_id=version.pk)
        assert counts[public.clause_text_id] == 1
    assert (
        feedback_counts_by_clause(viewer=staff, version_id=version.pk)[public.clause_text_id] == 2
    )


def test_public_querysets_never_load_private_fields(version):
    feedback_submit(acting_user=None, submission=submission(version, submitter_email="x@y.org"))
    item = feedback_visible_to(None).first()
    assert "submitter_email" in item.get_deferred_fields()
    assert "follow_token_hash" in item.get_deferred_fields()


def test_endorse_once_per_person(version, make_user):
    item = feedback_submit(acting_user=None, submission=submission(version)).item
    user = make_user("fan")
    assert feedback_endorse(acting_user=user, item=item).endorsement_count == 1
    with pytest.raises(AlreadyEndorsed):
        feedback_endorse(acting_user=user, item=item)
    assert (
        feedback_endorse(acting_user=None, item=item, anonymous_key="k" * 40).endorsement_count == 2
    )
    with pytest.raises(AlreadyEndorsed):
        feedback_endorse(acting_user=None, item=item, anonymous_key="k" * 40)
    item.refresh_from_db()
    assert item.endorsement_count == 2


def test_only_moderators_hide_and_content_is_kept(version, make_user):
    item = feedback_submit(acting_user=None, submission=submission(version)).item
    with pytest.raises(NotAllowed):
        feedback_hide(acting_user=make_user("nobody"), item=item, reason="spam")
    moderator = make_user("mod", roles=["moderator"])
    feedback_hide(acting_user=moderator, item=item, reason="Personal attack")
    item.refresh_from_db()
    assert item.hidden and item.hidden_reason == "Personal attack"
    assert item.body  # kept for moderators and auditors
    assert Event.objects.latest("seq").action == "feedback.hidden"


def test_old_idempotency_records_are_purged_by_the_daily_task():
    from datetime import timedelta

    from django.conf import settings

    from feedback.models import IdempotencyRecord
    from feedback.tasks import purge_idempotency_records

    old = IdempotencyRecord.objects.create(
        key="k1", scope="s", request_hash="0" * 64, status_code=201, response={}
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    fresh = IdempotencyRecord.objects.create(
        key="k2", scope="s", request_hash="0" * 64, status_code=201, response={}
    )
    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]
    schedule = settings.CELERY_BEAT_SCHEDULE["idempotency-purge"]
    assert schedule["task"] == purge_idempotency_records.name
