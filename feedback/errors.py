"""Named refusals. The HTML layer shows `message` next to `field`; the API answers with `code`
(stable, documented) and the HTTP status given here."""

from modelspec_site.errors import ServiceError


class FeedbackError(ServiceError):
    """The feedback app's refusals."""


class CommentPeriodClosed(FeedbackError):
    code = "comment_period_closed"
    status = 403


class QuoteMismatch(FeedbackError):
    code = "quote_mismatch"


class TargetNotFound(FeedbackError):
    code = "unknown_target"


class NotAllowed(FeedbackError):
    code = "permission_denied"
    status = 403


class AlreadyEndorsed(FeedbackError):
    code = "already_endorsed"
    status = 409


class TransitionConflict(FeedbackError):
    """The action is not possible from the item's current state: illegal in the table, or the
    item moved on since the person acting looked at it (two reviewers at once)."""

    code = "transition_conflict"
    status = 409


class ApprovalPending(FeedbackError):
    """Accepting needs more distinct reviewers' accepts under the spec's approval rule."""

    code = "approval_pending"
    status = 409
