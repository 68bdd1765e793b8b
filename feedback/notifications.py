"""Receipts and other messages go through the outbox (modelspec_site.outbox): the row that says
"tell X about event E" is written in the same transaction as E.

The private follow token never goes into a message: outbox rows are stored in clear, and the
token is shown once, on the receipt page, with only its hash kept."""

from __future__ import annotations

import logging

from django.conf import settings
from django.template import Context
from django.template.loader import get_template
from django.urls import NoReverseMatch
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from modelspec_site.outbox.services import normalize_recipient, outbox_enqueue

from .models import FeedbackItem

logger = logging.getLogger(__name__)

RECEIPT_KIND = "feedback.receipt"
DEFAULT_SITE_URL = "http://127.0.0.1:8000"
# Automatic mail: no out-of-office replies back to us (RFC 3834; Exchange's own header).
AUTOMATIC_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


def item_public_url(item: FeedbackItem) -> str:
    """The item's page as an absolute URL on this site."""
    try:
        path = item.get_absolute_url()
    except NoReverseMatch:  # the item page is not routed yet; this is its planned address
        path = f"/feedback/{item.tracking_number}/"
    return getattr(settings, "SITE_URL", DEFAULT_SITE_URL).rstrip("/") + path


def receipt_recipient(item: FeedbackItem) -> str:
    """Where the receipt goes: the account's address, else the e-mail given with the item."""
    if item.submitter_id is not None and item.submitter.email:
        return item.submitter.email
    return item.submitter_email


def _render_text(template_name: str, context: dict) -> str:
    # Plain text is not HTML: render it without HTML escaping (the HTML part is escaped).
    template = get_template(template_name).template
    return template.render(Context(context, autoescape=False))


def receipt_queue(*, item: FeedbackItem, event) -> None:
    """Queue the submission receipt for an item's submitter (account or private e-mail).

    Runs inside `feedback_submit`'s transaction; nothing is queued when there is no address.
    The bodies are rendered now, in the submitter's language, and stored with the message."""
    address = receipt_recipient(item)
    if not address:
        return
    try:
        recipient = normalize_recipient(address)
    except ValueError:
        # The edge validates addresses; if one slips through, the feedback still counts.
        logger.warning("feedback: no receipt for %s, its address is invalid", item.tracking_number)
        return
    context = {
        "tracking_number": item.tracking_number,
        # Anonymous addresses are unverified: echoing the submitter's own words to any
        # address would make the site a relay for arbitrary text. Accounts get the summary.
        "summary": item.summary if item.submitter_id else "",
        "item_url": item_public_url(item),
        "internal": not item.is_public,
        "language_code": get_language() or settings.LANGUAGE_CODE,
    }
    subject = _("Feedback received: %(tracking_number)s") % {
        "tracking_number": item.tracking_number
    }
    context["subject"] = subject
    outbox_enqueue(
        event=event,
        recipient=recipient,
        kind=RECEIPT_KIND,
        subject=subject,
        body_text=_render_text("emails/feedback_receipt.txt", context),
        body_html=get_template("emails/feedback_receipt.html").render(context),
        headers=dict(AUTOMATIC_HEADERS),
    )


def notify(kind: str, *, item: FeedbackItem, event, **context) -> None:
    """Queue the messages an event on `item` causes (inside the event's transaction).

    `kind` is "transition" (context: action, note), "public_reply" (note), "assigned"
    (assignee) or "mentioned" (note, users)."""
    from . import messaging

    messaging.queue_for(kind, item=item, event=event, **context)
