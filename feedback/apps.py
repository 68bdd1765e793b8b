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
        # Change proposals follow the same approval rule as feedback (the editable policy).
        hooks.set_approval_rule(accepts_required_for)
