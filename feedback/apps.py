from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        # The reader shows feedback counts and links through revisions' hooks: revisions never
        # imports feedback.
        from revisions import hooks

        from .reader_hooks import FeedbackReaderHook
        from .transitions import accepts_required_for

        hooks.register(FeedbackReaderHook())
        # A version's changes page lists the feedback behind each change.
        from .changes_hooks import FeedbackChangesHook

        hooks.register(FeedbackChangesHook())
        # A clause's history shows the feedback incorporated in each version's change.
        from .history_hooks import FeedbackHistoryHook

        hooks.register(FeedbackHistoryHook())
        # Change proposals follow the same approval rule as feedback (the editable policy).
        hooks.set_approval_rule(accepts_required_for)
        # A proposal's page lists the feedback it answers; `?item=` drafts one from an item.
        from .proposal_hooks import ProposalFeedbackHook

        hooks.register(ProposalFeedbackHook())
        # Publishing a version carries open feedback forward and incorporates accepted items.
        from revisions.signals import version_published

        from .carry import on_version_published

        version_published.connect(on_version_published, dispatch_uid="feedback.carry")
        # Internal items and notes scheduled to become public with this version.
        from .scheduling import on_version_published as publish_scheduled_with

        version_published.connect(publish_scheduled_with, dispatch_uid="feedback.scheduling")
