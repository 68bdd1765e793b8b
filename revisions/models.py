"""The document: specs, their versions, and each version's clauses and examples.

A *Clause* is the identity of a section across versions; a *ClauseText* is that section as it
stands in one version. Published text never changes: services refuse to touch it."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

label_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
    _("Use letters, digits, dots, dashes and underscores (e.g. 2025-09-12)."),
)


class Spec(models.Model):
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    tracking_prefix = models.CharField(
        _("tracking number prefix"),
        max_length=8,
        default="FB",
        validators=[RegexValidator(r"^[A-Z]{2,8}$", _("Two to eight capital letters."))],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("specification")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("revisions:spec", kwargs={"spec": self.slug})


class AuthorityLevel(models.Model):
    """One word of a spec's ordered authority vocabulary. Lower rank means more authority;
    words that share a rank are synonyms across versions (`platform` and `root`)."""

    spec = models.ForeignKey(Spec, on_delete=models.CASCADE, related_name="authority_levels")
    name = models.SlugField(_("word"), max_length=32)
    rank = models.PositiveSmallIntegerField(_("rank"))
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["spec", "rank", "name"]
        constraints = [
            models.UniqueConstraint(fields=["spec", "name"], name="authority_word_unique"),
        ]
        verbose_name = _("authority level")

    def __str__(self) -> str:
        return f"{self.name} ({self.rank})"


class Version(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")

    spec = models.ForeignKey(Spec, on_delete=models.PROTECT, related_name="versions")
    label = models.CharField(_("label"), max_length=64, validators=[label_validator])
    state = models.CharField(_("state"), max_length=16, choices=State, default=State.DRAFT)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    changelog = models.TextField(_("changelog"), blank=True)
    comment_opens_at = models.DateTimeField(_("comments open"), null=True, blank=True)
    comment_closes_at = models.DateTimeField(_("comments close"), null=True, blank=True)
    source_markdown = models.TextField(_("source"))
    source_hash = models.CharField(_("source SHA-256"), max_length=64)
    clause_count = models.PositiveIntegerField(default=0)
    example_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["spec", "-label"]
        constraints = [
            models.UniqueConstraint(fields=["spec", "label"], name="version_label_unique"),
            models.UniqueConstraint(
                fields=["spec"],
                condition=Q(state="published"),
                name="one_published_version_per_spec",
            ),
        ]
        verbose_name = _("version")

    def __str__(self) -> str:
        return f"{self.spec.slug} {self.label}"

    def get_absolute_url(self) -> str:
        return reverse("revisions:version", kwargs={"spec": self.spec.slug, "label": self.label})

    @property
    def is_published_text(self) -> bool:
        """Published and superseded text is immutable."""
        return self.state != self.State.DRAFT


class Clause(models.Model):
    """A section's identity across versions; `key` is the spec's own id where it first appeared."""

    spec = models.ForeignKey(Spec, on_delete=models.PROTECT, related_name="clauses")
    key = models.CharField(_("id"), max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["spec", "key"], name="clause_key_unique")]
        verbose_name = _("clause")

    def __str__(self) -> str:
        return self.key


class ClauseText(models.Model):
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="clause_texts")
    clause = models.ForeignKey(Clause, on_delete=models.PROTECT, related_name="texts")
    anchor = models.CharField(_("id in this version"), max_length=128)
    heading = models.CharField(_("heading"), max_length=500)
    heading_html = models.TextField()
    level = models.PositiveSmallIntegerField(_("level"))
    number = models.CharField(_("number"), max_length=32)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    position = models.PositiveIntegerField(_("position"))
    authority = models.CharField(_("authority"), max_length=32, blank=True)
    authority_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    attributes = models.JSONField(_("other heading attributes"), default=dict, blank=True)
    body_markdown = models.TextField(_("markdown"), blank=True)
    body_html = models.TextField(_("HTML"), blank=True)
    plain_text = models.TextField(_("plain text"), blank=True)
    footnotes = models.JSONField(default=list, blank=True)
    content_hash = models.CharField(max_length=64)
    source_line = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "anchor"], name="clausetext_anchor_unique"),
            models.UniqueConstraint(fields=["version", "clause"], name="clausetext_clause_unique"),
            models.UniqueConstraint(
                fields=["version", "position"], name="clausetext_position_unique"
            ),
        ]
        indexes = [models.Index(fields=["clause", "version"])]
        verbose_name = _("clause text")

    def __str__(self) -> str:
        return f"{self.number} {self.heading}"

    def get_absolute_url(self) -> str:
        return reverse(
            "revisions:clause",
            kwargs={
                "spec": self.version.spec.slug,
                "label": self.version.label,
                "clause_id": self.anchor,
            },
        )


class Example(models.Model):
    """A worked example inside a clause: a conversation and labelled candidate answers.

    `turns` is a list of dicts: role, attributes, content (markdown), content_html, candidate
    (inside the comparison), label (GOOD/OK/BAD or null), label_note, label_clause."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="examples")
    clause_text = models.ForeignKey(ClauseText, on_delete=models.CASCADE, related_name="examples")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(_("title"), max_length=1000)
    title_html = models.TextField()
    slug = models.SlugField(max_length=120)
    turns = models.JSONField(default=list)
    source_markdown = models.TextField()
    content_hash = models.CharField(max_length=64)
    source_line = models.PositiveIntegerField()

    class Meta:
        ordering = ["clause_text", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "title"], name="example_title_unique"),
            models.UniqueConstraint(fields=["version", "slug"], name="example_slug_unique"),
            models.UniqueConstraint(
                fields=["clause_text", "position"], name="example_position_unique"
            ),
        ]
        verbose_name = _("example")

    def __str__(self) -> str:
        return self.title


class LineageKind(models.TextChoices):
    """What happened to a clause between a version and its parent."""

    UNCHANGED = "unchanged", _("Unchanged")
    EDITED = "edited", _("Edited")
    RENAMED = "renamed", _("Renamed")
    MOVED = "moved", _("Moved")
    SPLIT = "split", _("Split")
    MERGED = "merged", _("Merged")
    ADDED = "added", _("Added")
    REMOVED = "removed", _("Removed")


class LineageLink(models.Model):
    """One edge of the lineage between `version` and its parent: an old clause text, a new one,
    or both. A split is several links from one old text; a merge several links into one new
    text; an addition has no old text and a removal no new text.

    Computed by `revisions.lineage` (ids first, then text similarity), stored at draft time and
    at publish; an editor's corrections are kept as `LineageOverride` rows so they survive a
    re-import of the draft."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="lineage_links")
    kind = models.CharField(_("kind"), max_length=16, choices=LineageKind.choices)
    old_text = models.ForeignKey(
        ClauseText,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="successor_links",
    )
    new_text = models.ForeignKey(
        ClauseText,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="predecessor_links",
    )
    similarity = models.PositiveSmallIntegerField(_("text similarity (%)"), default=0)
    text_changed = models.BooleanField(default=False)
    moved = models.BooleanField(default=False)
    authority_changed = models.BooleanField(default=False)
    by_editor = models.BooleanField(_("set by an editor"), default=False)

    class Meta:
        ordering = ["version", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(old_text__isnull=False) | Q(new_text__isnull=False),
                name="lineage_link_has_a_side",
            ),
            models.UniqueConstraint(
                fields=["version", "old_text", "new_text"],
                name="lineage_link_unique",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["old_text"], name="lineage_old_text"),
            models.Index(fields=["new_text"], name="lineage_new_text"),
        ]
        verbose_name = _("lineage link")

    def __str__(self) -> str:
        return f"{self.kind}: {self.old_text_id} -> {self.new_text_id}"


class LineageOverride(models.Model):
    """An editor's correction of a draft's lineage, by clause ids (which survive re-imports):
    `old_anchor` in the parent is the predecessor of `new_anchor` in this version. An empty
    `old_anchor` says the new clause is really added; an empty `new_anchor` that the old clause
    is really removed."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="lineage_overrides")
    old_anchor = models.CharField(max_length=128, blank=True)
    new_anchor = models.CharField(max_length=128, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(old_anchor="") | ~Q(new_anchor=""), name="lineage_override_side"
            ),
            models.UniqueConstraint(
                fields=["version", "old_anchor", "new_anchor"], name="lineage_override_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.old_anchor or '-'} -> {self.new_anchor or '-'}"


class ChangeProposal(models.Model):
    """A proposed edit to one clause, a new clause, a removal, a move or a change of authority,
    drafted against a published version, reviewed with the same approval rule as feedback, and,
    once accepted, applied to a draft version."""

    class Operation(models.TextChoices):
        EDIT = "edit", _("Edit a clause")
        ADD = "add", _("Add a clause")
        REMOVE = "remove", _("Remove a clause")
        MOVE = "move", _("Move a clause")
        AUTHORITY = "authority", _("Change a clause's authority level")

    class State(models.TextChoices):
        IN_REVIEW = "in_review", _("In review")
        ACCEPTED = "accepted", _("Accepted, waiting for a draft")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        APPLIED = "applied", _("Applied to a draft")
        PUBLISHED = "published", _("Published")

    spec = models.ForeignKey(Spec, on_delete=models.PROTECT, related_name="proposals")
    operation = models.CharField(_("operation"), max_length=16, choices=Operation.choices)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.IN_REVIEW
    )
    review_round = models.PositiveSmallIntegerField(default=1)
    # What it changes: the clause text of the published version it was drafted against (none
    # for an addition), and that text's content hash then, to detect a conflicting change.
    base_version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="+")
    base_text = models.ForeignKey(
        ClauseText, null=True, blank=True, on_delete=models.PROTECT, related_name="proposals"
    )
    base_hash = models.CharField(max_length=64, blank=True)
    # The proposed result. For an addition, `new_anchor` is the new clause's id and
    # `after_anchor` the clause it follows; for a move, `parent_anchor`/`after_anchor` say where.
    new_anchor = models.CharField(_("clause id"), max_length=128, blank=True)
    new_heading = models.CharField(_("heading"), max_length=500, blank=True)
    new_body_markdown = models.TextField(_("proposed text"), blank=True)
    new_authority = models.CharField(_("authority"), max_length=32, blank=True)
    parent_anchor = models.CharField(_("under clause"), max_length=128, blank=True)
    after_anchor = models.CharField(_("after clause"), max_length=128, blank=True)
    rationale = models.TextField(_("rationale"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_proposals"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Where it went: the draft it was applied to and the clause text that resulted (none for a
    # removal), kept after publishing so feedback can link to the exact change.
    draft = models.ForeignKey(
        Version, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    applied_anchor = models.CharField(max_length=128, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["spec", "state"], name="proposal_spec_state")]
        verbose_name = _("change proposal")

    def __str__(self) -> str:
        return f"P{self.pk} {self.get_operation_display()}"

    def get_absolute_url(self) -> str:
        return reverse("revisions_editor:proposal", kwargs={"pk": self.pk})


class ProposalPosition(models.Model):
    """A reviewer's position on a proposal in one review round (accept, decline, recuse)."""

    class Position(models.TextChoices):
        ACCEPT = "accept", _("Accept")
        DECLINE = "decline", _("Decline")
        RECUSE = "recuse", _("Recuse")

    proposal = models.ForeignKey(ChangeProposal, on_delete=models.CASCADE, related_name="positions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    review_round = models.PositiveSmallIntegerField()
    position = models.CharField(max_length=16, choices=Position.choices)
    rationale = models.TextField(_("rationale"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "reviewer", "review_round"], name="proposal_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id}: {self.position}"


class PublishJob(models.Model):
    """One run of publishing a draft (a Celery task). Progress is written on its own connection
    (`revisions.publishing`), so the page can poll it while the publish transaction is open."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Published")
        FAILED = "failed", _("Failed")

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="publish_jobs")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    step = models.CharField(max_length=200, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version"],
                condition=Q(state__in=["queued", "running"]),
                name="one_active_publish_job",
            )
        ]

    def __str__(self) -> str:
        return f"publish {self.version_id}: {self.state}"


class Comparison(models.Model):
    """A computed comparison of two versions, kept once computed (published text never
    changes). `key` names the pair and the algorithm's revision; drafts are not cached. `body`
    is the API's JSON, serialised once, so a cached answer is served without re-encoding."""

    key = models.CharField(max_length=200, unique=True)
    from_version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    to_version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
