"""What people say about a spec, and what happens to it.

A FeedbackItem targets one clause of one version, optionally one example inside it, optionally
a passage of the clause's plain text (W3C TextQuote + TextPosition selectors). Submitters'
e-mail addresses, follow tokens and network details are private: only `selectors` decides what
a viewer may see, and nothing private ever leaves through it."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Case, F, OrderBy, Q, Value, When
from django.db.models.functions import Coalesce, Upper
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


# The triage queue's "most severe first" rank (feedback.queue.severity_rank builds the same
# expression for its ORDER BY; the index below must match it exactly to be used).
_SEVERITY_RANK = Case(
    *[
        When(severity=name, then=Value(rank))
        for name, rank in (
            (Severity.LOW, 0),
            (Severity.MEDIUM, 1),
            (Severity.HIGH, 2),
            (Severity.CRITICAL, 3),
        )
    ],
    default=Value(0),
    output_field=models.IntegerField(),
)


class AnchorOutcome(models.TextChoices):
    """What re-anchoring found when a new version carried the item forward (revisions issue):
    empty while the item has never been carried."""

    ANCHORED = "anchored", _("Passage found as it was")
    MOVED = "moved", _("Passage found in another clause")
    TEXT_CHANGED = "text_changed", _("Passage found with changed text")
    ORPHANED = "orphaned", _("Passage not found")


OPEN_STATES = (State.RECEIVED, State.TRIAGED, State.IN_REVIEW, State.NEEDS_INFO, State.ACCEPTED)


class TrackingCounter(models.Model):
    """Where the numbering of (prefix, year) stood before numbers came from sequences
    (migration 0010): a sequence created for a year that has a row here continues after
    `last`. Nothing writes new rows."""

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
    # Unique through Meta.constraints (no extra LIKE index: nothing searches numbers by prefix).
    # Single-column indexes are left out where a composite index leads with the column, and
    # mostly-empty foreign keys get partial indexes: every index costs each submission a write.
    tracking_number = models.CharField(_("tracking number"), max_length=32)
    spec = models.ForeignKey(
        Spec, on_delete=models.PROTECT, related_name="feedback", db_index=False
    )
    version = models.ForeignKey(
        Version, on_delete=models.PROTECT, related_name="feedback", db_index=False
    )
    clause = models.ForeignKey(Clause, on_delete=models.PROTECT, related_name="feedback")
    # No index of its own: feedback_queue_clause_waiting leads with it.
    clause_text = models.ForeignKey(
        ClauseText, on_delete=models.PROTECT, related_name="feedback", db_index=False
    )
    example = models.ForeignKey(
        Example,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
        db_index=False,
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
        db_index=False,
    )
    submitter_name = models.CharField(_("name"), max_length=100, blank=True)
    submitter_email = models.EmailField(_("e-mail (private)"), blank=True)
    follow_token_hash = models.CharField(max_length=64, blank=True)

    hidden = models.BooleanField(_("hidden by a moderator"), default=False)
    hidden_reason = models.CharField(_("reason shown publicly"), max_length=300, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)

    endorsement_count = models.PositiveIntegerField(default=0)
    report_count = models.PositiveIntegerField(default=0)

    # The workflow (feedback.workflow). `state_changed_at` drives ageing in the triage queue;
    # `review_round` counts reopenings, so positions taken before a reopening no longer count.
    state_changed_at = models.DateTimeField(_("state changed"), null=True, blank=True)
    review_round = models.PositiveSmallIntegerField(default=1)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_feedback",
        verbose_name=_("assignee"),
        db_index=False,
    )
    labels = models.ManyToManyField("Label", blank=True, related_name="items")
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        verbose_name=_("duplicate of"),
        db_index=False,
    )
    # Re-anchoring when a new version carries the item forward; a database default, so raw
    # inserts (feedback/0004) need not name them.
    anchor_outcome = models.CharField(
        _("re-anchoring outcome"),
        max_length=16,
        choices=AnchorOutcome.choices,
        blank=True,
        default="",
        db_default="",
    )
    anchor_confidence = models.PositiveSmallIntegerField(
        _("re-anchoring confidence (%)"), null=True, blank=True
    )
    # Where the item stands now: the successor clause text a newer version carried it to (null
    # while it stands where it was received, and for an orphan whose clause was removed).
    current_text = models.ForeignKey(
        ClauseText,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="carried_feedback",
        db_index=False,
    )
    current_start = models.PositiveIntegerField(null=True, blank=True)
    current_end = models.PositiveIntegerField(null=True, blank=True)
    # The public rationale of the latest closing decision (also on its Transition row).
    resolution = models.TextField(_("public rationale"), blank=True)
    # Full-text search over the public words of the item; computed by PostgreSQL.
    search = models.GeneratedField(
        expression=SearchVector("summary", weight="A", config="english")
        + SearchVector("body", weight="B", config="english")
        + SearchVector("quote_exact", weight="C", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-tracking_number"]
        indexes = [
            models.Index(fields=["version", "clause", "visibility", "hidden"]),
            models.Index(fields=["spec", "state", "-created_at"]),
            models.Index(fields=["visibility", "hidden", "-created_at", "-tracking_number"]),
            models.Index(fields=["state", "-created_at", "-tracking_number"]),
            models.Index(fields=["assignee", "state"]),
            # The triage queue's sorts (feedback.queue.SORTS) and the lists' newest/most
            # endorsed orders, so a first page reads 50 rows of an index instead of sorting a
            # million (measured by bench/triage_queue.py). `waiting_at` is
            # Coalesce(state_changed_at, created_at); the severity rank must stay the same
            # expression as queue.severity_rank().
            models.Index(
                Coalesce("state_changed_at", "created_at"),
                "tracking_number",
                name="feedback_queue_waiting",
            ),
            models.Index(
                "state",
                Coalesce("state_changed_at", "created_at"),
                "tracking_number",
                name="feedback_queue_state_waiting",
            ),
            models.Index(
                OrderBy(F("endorsement_count"), descending=True),
                Coalesce("state_changed_at", "created_at"),
                "tracking_number",
                name="feedback_queue_endorsed",
            ),
            models.Index(
                OrderBy(_SEVERITY_RANK, descending=True),
                Coalesce("state_changed_at", "created_at"),
                "tracking_number",
                name="feedback_queue_severity",
            ),
            # The queue filtered to one clause, oldest waiting first: a rare clause otherwise
            # walks feedback_queue_waiting past ~25,000 other items (bench/triage_queue.py).
            models.Index(
                "clause_text",
                Coalesce("state_changed_at", "created_at"),
                "tracking_number",
                name="feedback_queue_clause_waiting",
            ),
            models.Index(fields=["-created_at", "-tracking_number"], name="feedback_newest"),
            models.Index(
                fields=["-endorsement_count", "-created_at", "-tracking_number"],
                name="feedback_most_endorsed",
            ),
            models.Index(
                fields=["example"], condition=Q(example__isnull=False), name="feedback_example"
            ),
            models.Index(
                fields=["submitter"],
                condition=Q(submitter__isnull=False),
                name="feedback_submitter",
            ),
            models.Index(
                fields=["duplicate_of"],
                condition=Q(duplicate_of__isnull=False),
                name="feedback_duplicate_of",
            ),
            models.Index(
                fields=["current_text"],
                condition=Q(current_text__isnull=False),
                name="feedback_current_text",
            ),
            GinIndex(fields=["search"], name="feedback_search_gin"),
            GinIndex(OpClass(Upper("summary"), name="gin_trgm_ops"), name="feedback_summary_trgm"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tracking_number"], name="feedback_tracking_unique"),
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


class Label(models.Model):
    """A staff-managed tag for sorting work in the triage queue. Labels are internal."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("label")

    def __str__(self) -> str:
        return self.name


class Transition(models.Model):
    """One move through the workflow: the item's public (or internal) history of states."""

    item = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(max_length=16, choices=State.choices)
    to_state = models.CharField(max_length=16, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=150)
    rationale = models.TextField(_("public rationale"), blank=True)
    event_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["item", "created_at"])]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.from_state} -> {self.to_state}"


class Position(models.TextChoices):
    ACCEPT = "accept", _("Accept")
    DECLINE = "decline", _("Decline")
    DEFER = "defer", _("Defer")
    RECUSE = "recuse", _("Recuse")


class Decision(models.Model):
    """A reviewer's recorded position on an item, for one review round. Internal: the public
    sees the outcome (a closing transition with its rationale), not who voted how."""

    item = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    review_round = models.PositiveSmallIntegerField()
    position = models.CharField(_("position"), max_length=10, choices=Position.choices)
    rationale = models.TextField(_("rationale"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "reviewer", "review_round"], name="decision_one_per_reviewer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} {self.position} on {self.item_id}"


class PreparedDecision(models.Model):
    """A closing transition written in advance and published later. Until it is published
    (the transition then runs, with this rationale) the public sees nothing of it."""

    item = models.OneToOneField(
        FeedbackItem, on_delete=models.CASCADE, related_name="prepared_decision"
    )
    action = models.CharField(_("action"), max_length=20)
    rationale = models.TextField(_("public rationale"))
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"prepared {self.action} on {self.item_id}"


class Note(models.Model):
    """A message on an item. Internal notes are staff-only and threaded; public replies and the
    submitter's replies appear on the item's public page."""

    class Kind(models.TextChoices):
        INTERNAL = "internal", _("Internal note")
        PUBLIC_REPLY = "public_reply", _("Public reply")
        SUBMITTER_REPLY = "submitter_reply", _("Reply from the submitter")

    item = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    author_label = models.CharField(max_length=150)
    body = models.TextField(_("message"))
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="feedback_mentions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["item", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} on {self.item_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.INTERNAL


class ReviewPolicy(models.Model):
    """How many distinct reviewers must accept, by the clause's authority rank. Editors change
    it per spec. `accepts_by_rank` maps an authority rank (as text) to a count; ranks not named
    use `default_accepts`. The default: ranks 0 and 1 (root/platform, system) need two."""

    spec = models.OneToOneField(Spec, on_delete=models.CASCADE, related_name="review_policy")
    accepts_by_rank = models.JSONField(default=dict, blank=True)
    default_accepts = models.PositiveSmallIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"review policy of {self.spec_id}"


class Subscription(models.Model):
    """Someone follows an item, a clause or a spec: an account, or an e-mail address (the
    anonymous submitter, through their private link). Exactly one target is set."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="feedback_subscriptions",
    )
    email = models.EmailField(blank=True)
    item = models.ForeignKey(
        FeedbackItem, null=True, blank=True, on_delete=models.CASCADE, related_name="followers"
    )
    clause = models.ForeignKey(Clause, null=True, blank=True, on_delete=models.CASCADE)
    spec = models.ForeignKey(Spec, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(email=""))
                | (Q(user__isnull=True) & ~Q(email="")),
                name="subscription_one_subscriber",
            ),
            models.CheckConstraint(
                condition=(
                    Q(item__isnull=False, clause__isnull=True, spec__isnull=True)
                    | Q(item__isnull=True, clause__isnull=False, spec__isnull=True)
                    | Q(item__isnull=True, clause__isnull=True, spec__isnull=False)
                ),
                name="subscription_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "item", "clause", "spec"],
                nulls_distinct=False,
                condition=Q(user__isnull=False),
                name="subscription_unique_user",
            ),
            models.UniqueConstraint(
                fields=["email", "item", "clause", "spec"],
                nulls_distinct=False,
                condition=Q(user__isnull=True),
                name="subscription_unique_email",
            ),
        ]

    def __str__(self) -> str:
        return f"subscription {self.pk}"


class Unsubscribe(models.Model):
    """An address that asked, through the link in an e-mail, to stop one stream of messages.
    `scope` is "all", "item:<id>", "clause:<id>", "spec:<id>" or "digest"."""

    email = models.EmailField()
    scope = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "scope"], name="unsubscribe_unique")
        ]

    def __str__(self) -> str:
        return f"{self.email} from {self.scope}"


class SavedView(models.Model):
    """A staff member's named set of triage-queue filters (the query string)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_queue_views"
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Reanchoring(models.Model):
    """What publishing a version did to one open item: the successor clause text it was carried
    to (none when its clause was removed), where its passage was re-found, the outcome and a
    confidence; and the submitter's answer to "does the new text resolve your concern?"."""

    class Response(models.TextChoices):
        YES = "yes", _("Yes, it resolves my concern")
        PARTLY = "partly", _("Partly")
        NO = "no", _("No")

    item = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="reanchorings")
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    from_text = models.ForeignKey(ClauseText, on_delete=models.PROTECT, related_name="+")
    to_text = models.ForeignKey(
        ClauseText, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=AnchorOutcome.choices)
    confidence = models.PositiveSmallIntegerField(_("confidence (%)"))
    quote_exact = models.TextField(blank=True)
    position_start = models.PositiveIntegerField(null=True, blank=True)
    position_end = models.PositiveIntegerField(null=True, blank=True)
    response = models.CharField(max_length=8, choices=Response.choices, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    # A "no" on a closed item asks reviewers to reopen it; they may instead dismiss the
    # request (feedback.reopen_requests). The request stands again if the submitter answers
    # after the dismissal (responded_at later than dismissed_at).
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A database default too: publishing inserts these rows in bulk with its own SQL.
    dismiss_reason = models.TextField(blank=True, db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["item", "version"], name="reanchoring_unique")
        ]
        indexes = [models.Index(fields=["version", "outcome"], name="reanchoring_outcome")]

    def __str__(self) -> str:
        return f"{self.item_id} in {self.version_id}: {self.outcome}"


class ProposalLink(models.Model):
    """A change proposal answers this feedback item (the proposal lives in revisions, which
    does not know about feedback)."""

    item = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="proposal_links")
    proposal = models.ForeignKey(
        "revisions.ChangeProposal", on_delete=models.CASCADE, related_name="feedback_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "proposal"], name="proposal_link_unique")
        ]

    def __str__(self) -> str:
        return f"{self.item_id} <- P{self.proposal_id}"


class ScheduledPublication(models.Model):
    """Staff plan to make an internal item or internal note public: on a date, or when a given
    version is published. The change of visibility, when it happens, is a ledger event."""

    item = models.ForeignKey(
        FeedbackItem,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="scheduled_publications",
    )
    note = models.ForeignKey(
        Note, null=True, blank=True, on_delete=models.CASCADE, related_name="scheduled_publications"
    )
    publish_at = models.DateTimeField(_("publish on"), null=True, blank=True)
    with_version = models.ForeignKey(
        Version,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("publish with version"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(item__isnull=False) & Q(note__isnull=True))
                | (Q(item__isnull=True) & Q(note__isnull=False)),
                name="scheduled_publication_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(publish_at__isnull=False) | Q(with_version__isnull=False),
                name="scheduled_publication_has_a_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["publish_at"],
                condition=Q(done_at__isnull=True, cancelled_at__isnull=True),
                name="scheduled_publication_due",
            )
        ]

    def __str__(self) -> str:
        return f"publish {self.item_id or self.note_id}"
