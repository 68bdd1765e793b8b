import pytest

from feedback.errors import ApprovalPending, TransitionConflict
from feedback.models import State
from feedback.transitions import decision_record, feedback_transition
from modelspec_site.audit.models import Event


@pytest.mark.django_db
def test_root_clause_needs_two_accepts(file_item, staff):
    item = file_item(rank=0, submitter_email="who@example.org")
    triager, r1, r2 = (
        staff("triager"),
        staff("reviewer", username="r1"),
        staff("reviewer", username="r2"),
    )
    feedback_transition(acting_user=triager, item=item, action="triage")
    feedback_transition(acting_user=triager, item=item, action="start_review")
    decision_record(acting_user=r1, item=item, position="accept", rationale="yes")
    with pytest.raises(ApprovalPending):
        feedback_transition(acting_user=r1, item=item, action="accept", rationale="ok")
    decision_record(acting_user=r2, item=item, position="accept", rationale="agreed")
    item = feedback_transition(
        acting_user=r2, item=item, action="accept", rationale="ok", expected_state="in_review"
    )
    assert item.state == State.ACCEPTED
    assert Event.objects.filter(action="feedback.accept").count() == 1
    with pytest.raises(TransitionConflict):
        feedback_transition(
            acting_user=r1, item=item, action="accept", rationale="ok", expected_state="in_review"
        )
