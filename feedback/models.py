"""What people say about a spec, and what happens to it.

A FeedbackItem targets one clause of one version, optionally one example inside it, optionally
a passage of the clause's plain text (W3C TextQuote + TextPosition selectors). Submitters'
e-mail addresses, follow tokens and network details are private: only `selectors` decides what
a viewer may see, and nothing private ever leaves through it."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from revisions.models import Clause, ClauseText, Example, Spec, Version


class Kind(models.TextChoices):
    UNCLEAR = "unclear", _("Unclear")
    DISAGREE = "disagree", _("I disagree")
    MISSING_CASE = "missing_case", _("Missing case")
    CONFLICT = "conflict", _("Conflict between clauses")
    EXAMPLE_WRONG = "example_wrong", _("Example is wrong")
    NEW_EXAMPLE = "new_example", _("New example")
    EDITORIAL = "editorial", _("Editorial")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")


class State(models.TextChoices):
    RECEIVED = "received", _("Received")
    TRIAGED = "triaged", _("Triaged")
    IN_REVIEW = "in_review", _("In review")
    NEEDS_INFO = "needs_info", _("Needs information")
    DUPLICATE = "duplicate", _("Duplicate")
    DECLINED = "declined", _("Declined")
    SPAM = "spam", _("Spam")
    DEFERRED = "deferred", _("Deferred")
    ACCEPTED = "accepted", _("Accepted")
    INCORPORATED = "incorporated", _("Incorporated")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATES = (State.RECEIVED, State.TRIAGED, State.IN_REVIEW, State.NEEDS_INFO, State.ACCEPTED)


class TrackingCounter(models.Model):
    """The next tracking number per (prefix, year): MS-2025-00042. A row lock hands them out."""

    prefix = models.CharField(max_length=16)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="tracking_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class FeedbackItem(models.Model):
    tracking_number = models.CharField(_("tracking number"), max_length=32, unique=True)
    spec = models.ForeignKey(Spec, on_delete=models.PROTECT, related_name="feedback")
    version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="feedback")
    clause = models.ForeignKey(Clause, on_delete=models.PROTECT, related_name="feedback")
    clause_text = models.ForeignKey(ClauseText, on_delete=models.PROTECT, related_name="feedback")
    example = models.ForeignKey(
        Example, null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    # W3C Web Annotation selectors against clause_text.plain_text.
    quote_exact = models.TextField(_("quoted passage"), blank=True)
    quote_prefix = models.CharField(max_length=64, blank=True)
    quote_suffix = models.CharField(max_length=64, blank=True)
    position_start = models.PositiveIntegerField(null=True, blank=True)
    position_end = models.PositiveIntegerField(null=True, blank=True)

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM
    )
    summary = models.CharField(_("summary"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    suggested_text = models.TextField(_("suggested replacement text"), blank=True)
    # [{"role": "user"|"assistant"|..., "content": str, "label": "GOOD"|"BAD"|None}, ...]
    example_conversation = models.JSONField(_("example conversation"), default=list, blank=True)
    affiliation = models.CharField(_("affiliation"), max_length=200, blank=True)
    conflict_of_interest = models.TextField(_("conflict of interest"), blank=True)

    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.RECEIVED
    )

    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_items",
    )
    submitter_name = models.CharField(_("name"), max_length=100, blank=True)
    submitter_email = models.EmailField(_("e-mail (private)"), blank=True)
    follow_token_hash = models.CharField(max_length=64, blank=True)

    hidden = models.BooleanField(_("hidden by a moderator"), default=False)
    hidden_reason = models.CharField(_("reason shown publicly"), max_length=300, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)

    endorsement_count = models.PositiveIntegerField(default=0)
    report_count = models.PositiveIntegerField(default=0)
    # Full-text search over the public words of the item; computed by PostgreSQL.
    search = models.GeneratedField(
        expression=SearchVector("summary", weight="A", config="english")
        + SearchVector("body", weight="B", config="english")
        + SearchVector("quote_exact", weight="C", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-tracking_number"]
        indexes = [
            models.Index(fields=["version", "clause", "visibility", "hidden"]),
            models.Index(fields=["spec", "state", "-created_at"]),
            models.Index(fields=["visibility", "hidden", "-created_at", "-tracking_number"]),
            GinIndex(fields=["search"], name="feedback_search_gin"),
            GinIndex(OpClass(Upper("summary"), name="gin_trgm_ops"), name="feedback_summary_trgm"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(position_start__isnull=True)
                | Q(position_end__gt=models.F("position_start")),
                name="feedback_position_order",
            ),
        ]
        verbose_name = _("feedback item")

    def __str__(self) -> str:
        return f"{self.tracking_number}: {self.summary}"

    def get_absolute_url(self) -> str:
        return reverse("feedback:item", kwargs={"tracking_number": self.tracking_number})

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.PUBLIC


class Endorsement(models.Model):
    """A "me too": one per account, or one per anonymous browser (a hashed cookie key)."""

    item = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="endorsements")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    anonymous_key_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "user"], condition=Q(user__isnull=False), name="endorse_once_user"
            ),
            models.UniqueConstraint(
                fields=["item", "anonymous_key_hash"],
                condition=Q(user__isnull=True),
                name="endorse_once_browser",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(anonymous_key_hash=""),
                name="endorse_has_author",
            ),
        ]

    def __str__(self) -> str:
        return f"+1 on {self.item_id}"


class Report(models.Model):
    """A member of the public flags an item for moderators."""

    item = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(_("reason"), max_length=500)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"report on {self.item_id}"


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an Idempotency-Key, replayed for retries."""

    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=100)  # who sent it: user id or client key hash
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key
