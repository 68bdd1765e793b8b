"""The document: specs, their versions, and each version's clauses and examples.

A *Clause* is the identity of a section across versions; a *ClauseText* is that section as it
stands in one version. Published text never changes: services refuse to touch it."""

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
