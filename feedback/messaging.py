"""Who hears about what (recipients of workflow events). First version: the submitter of a
public item hears about public state changes and public replies; staff hear about assignment
and mentions. Followers, digests and reminders extend this module."""

from __future__ import annotations

from django.utils.translation import gettext as _

from modelspec_site.outbox.services import normalize_recipient, outbox_enqueue

from .models import FeedbackItem

PUBLIC_KINDS = {"transition", "public_reply"}


def _address(item: FeedbackItem) -> str:
    if item.submitter_id is not None and item.submitter.email:
        return item.submitter.email
    return item.submitter_email


def queue_for(kind: str, *, item: FeedbackItem, event, **context) -> None:
    from .notifications import AUTOMATIC_HEADERS, item_public_url

    recipients: list[tuple[str, str, str]] = []  # (address, subject, text)
    if kind in PUBLIC_KINDS and item.is_public and context.get("action") != "provide_info":
        address = _address(item)
        if address:
            subject = _("Update on your feedback %(tn)s") % {"tn": item.tracking_number}
            text = _("Your feedback %(tn)s is now: %(state)s.\n\n%(url)s\n") % {
                "tn": item.tracking_number,
                "state": item.get_state_display(),
                "url": item_public_url(item),
            }
            recipients.append((address, subject, text))
    if kind == "assigned":
        assignee = context["assignee"]
        if assignee.email:
            subject = _("Assigned to you: %(tn)s") % {"tn": item.tracking_number}
            recipients.append((assignee.email, subject, item_public_url(item) + "\n"))
    if kind == "mentioned":
        for user in context.get("users", ()):
            if user.email:
                subject = _("You were mentioned on %(tn)s") % {"tn": item.tracking_number}
                recipients.append((user.email, subject, item_public_url(item) + "\n"))
    for address, subject, text in recipients:
        try:
            recipient = normalize_recipient(address)
        except ValueError:
            continue
        outbox_enqueue(
            event=event,
            recipient=recipient,
            kind=f"feedback.{kind}",
            subject=subject,
            body_text=text,
            headers=dict(AUTOMATIC_HEADERS),
        )
