"""One row per message that must be delivered: "tell `recipient` about ledger event
`event_seq`". Rows are written only by `services.outbox_enqueue`, in the transaction of the
event, and moved on only by `services.outbox_deliver`."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class OutboxMessage(models.Model):
    # The ledger event's seq, not a foreign key: the ledger is append-only and is never joined
    # from here; the number is enough to find the event and to build the Message-ID.
    event_seq = models.BigIntegerField(_("ledger event"))
    recipient = models.EmailField(_("recipient"), max_length=254)
    kind = models.CharField(_("kind"), max_length=64)
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("plain-text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    headers = models.JSONField(_("extra headers"), default=dict, blank=True)

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Delivery attempts started (counted and committed before each send, so a worker that
    # dies mid-send still uses one up).
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # When the sweep may queue it again: at once for a new message, then the back-off after
    # each attempt (which also leases the message to the worker that claimed it).
    next_attempt_at = models.DateTimeField(_("next attempt"))

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_seq", "recipient", "kind"], name="outbox_one_per_event_recipient"
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="outbox_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=Status.SENT, sent_at__isnull=False)
                | (~Q(status=Status.SENT) & Q(sent_at__isnull=True)),
                name="outbox_sent_at_iff_sent",
            ),
        ]
        indexes = [
            # The sweep's query: pending messages that are due, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=Status.PENDING),
                name="outbox_pending_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for event #{self.event_seq} ({self.status})"
