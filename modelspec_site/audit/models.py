"""The governance ledger: one append-only, hash-chained table of events.

Rows are written only by `services.audit_record`, in the same transaction as the change they
record. The database refuses UPDATE, DELETE and TRUNCATE on the table (migration 0002), and
each row carries the hash of its predecessor (see `chain` for the encoding), so a rewrite by
someone who can get past the trigger still shows up in `verify_audit` or against a checkpoint.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from modelspec_site.audit import chain


class ActorKind(models.TextChoices):
    USER = "user", _("user")
    ANONYMOUS = "anonymous", _("anonymous")
    SYSTEM = "system", _("system")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("public")
    INTERNAL = "internal", _("internal")


class Event(models.Model):
    """One ledger entry. Its chain position `seq` is its primary key."""

    seq = models.BigIntegerField(_("sequence number"), primary_key=True)
    # Set by the service, not auto_now: the time is part of the hash.
    created_at = models.DateTimeField(_("time"))
    # DO_NOTHING without a database constraint: deleting a user must neither delete events
    # (CASCADE) nor rewrite them (SET_NULL is an UPDATE, which the trigger refuses, and would
    # change the hashed actor_id). The stored label keeps the name; the id may dangle.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # a partial index (Meta): most events have no user actor
        related_name="audit_events",
    )
    actor_kind = models.CharField(_("actor kind"), max_length=16, choices=ActorKind.choices)
    actor_label = models.CharField(_("actor label"), max_length=150)
    action = models.CharField(_("action"), max_length=100)
    subjects = models.JSONField(_("subjects"), default=list)
    visibility = models.CharField(
        _("visibility"), max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    data = models.JSONField(_("data"), default=dict)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    # Unique through Meta.constraints: a `unique=True` field would also get a LIKE index that
    # no query uses, written on every append.
    hash = models.CharField(_("hash"), max_length=64)
    # The exact text `hash` was computed over. A CHECK constraint (migration 0005, not declared
    # here: Django cannot express it) makes PostgreSQL refuse a row whose columns differ from it.
    canonical = models.TextField(
        _("canonical JSON"),
        editable=False,
        help_text=_("The exact text hashed into the chain (UTF-8)."),
    )

    class Meta:
        ordering = ["seq"]
        verbose_name = _("ledger event")
        verbose_name_plural = _("ledger events")
        indexes = [
            models.Index(fields=["action", "seq"], name="audit_event_action_idx"),
            models.Index(fields=["created_at"], name="audit_event_created_idx"),
            # Serves `subjects__contains=[{"type": ..., "id": ...}]` (timelines of one object).
            GinIndex(
                fields=["subjects"], opclasses=["jsonb_path_ops"], name="audit_event_subjects_gin"
            ),
            models.Index(
                fields=["actor"], condition=Q(actor__isnull=False), name="audit_event_actor"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["hash"], name="audit_event_hash_unique"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="audit_event_seq_positive"),
            models.CheckConstraint(
                condition=Q(seq=1, prev_hash=chain.GENESIS_HASH) | Q(seq__gt=1),
                name="audit_event_genesis",
            ),
            models.CheckConstraint(
                condition=Q(hash__regex=r"^[0-9a-f]{64}$") & Q(prev_hash__regex=r"^[0-9a-f]{64}$"),
                name="audit_event_hash_format",
            ),
            models.CheckConstraint(
                condition=Q(action__regex=chain.ACTION_RE.pattern), name="audit_event_action"
            ),
            models.CheckConstraint(
                condition=Q(actor_kind__in=ActorKind.values), name="audit_event_actor_kind"
            ),
            models.CheckConstraint(
                condition=Q(actor_kind=ActorKind.USER, actor__isnull=False)
                | (~Q(actor_kind=ActorKind.USER) & Q(actor__isnull=True)),
                name="audit_event_actor_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(visibility__in=Visibility.values), name="audit_event_visibility"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"

    def chain_fields(self) -> dict:
        """The hashed fields plus ``hash``, as `chain.verify_chain` expects them."""
        return {
            "seq": self.seq,
            "created_at": self.created_at,
            "actor_kind": self.actor_kind,
            "actor_label": self.actor_label,
            "actor_id": self.actor_id,
            "action": self.action,
            "subjects": self.subjects,
            "visibility": self.visibility,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class Checkpoint(models.Model):
    """A signed statement of the ledger's length and head hash at one time, published daily.

    Whoever keeps a copy can later prove that history only grew: event `count` must still have
    hash `head_hash` (`verify_audit --checkpoint HASH --count N`, or the offline verifier on an
    export). The signature is Ed25519 over `chain.checkpoint_message(count, head_hash,
    created_at)`; `key_id` names the key (`chain.public_key_id`). Rows are only ever added."""

    day = models.DateField(_("day"), unique=True, help_text=_("One checkpoint per UTC day."))
    count = models.BigIntegerField(_("event count"))
    head_hash = models.CharField(_("head hash"), max_length=64)
    created_at = models.DateTimeField(_("time"))
    signature = models.CharField(_("signature"), max_length=128)
    key_id = models.CharField(_("key id"), max_length=16)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        constraints = [
            models.CheckConstraint(condition=Q(count__gte=0), name="audit_checkpoint_count"),
            models.CheckConstraint(
                condition=Q(head_hash__regex=r"^[0-9a-f]{64}$"), name="audit_checkpoint_hash"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.count} events, head {self.head_hash[:12]}"

    @property
    def created_at_text(self) -> str:
        return chain.format_timestamp(self.created_at)

    def as_dict(self) -> dict:
        """The published form: what the API returns, the directory copy holds and the offline
        verifier reads with --checkpoint-file."""
        return {
            "count": self.count,
            "head_hash": self.head_hash,
            "created_at": self.created_at_text,
            "signature": self.signature,
            "key_id": self.key_id,
            "algorithm": "Ed25519",
        }
