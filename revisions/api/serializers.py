"""Read-only representations of specs, versions and clauses. Explicit fields, never a
ModelSerializer: the JSON is a contract (DESIGN §5) and must not drift with the models.

Links are absolute when the serializer has the request in its context. `url` is always the API
resource; `html_url` the reading page for people."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from revisions.models import ClauseText, Spec, Version

from .tree import TreeNode

API = "revisions_api"


def _link(serializer: serializers.Field, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def version_api_url(serializer: serializers.Field, spec: str, label: str) -> str:
    return _link(serializer, reverse(f"{API}:version-detail", args=[spec, label]))


def clause_api_url(serializer: serializers.Field, spec: str, label: str, anchor: str) -> str:
    return _link(serializer, reverse(f"{API}:clause-detail", args=[spec, label, anchor]))


class ErrorSerializer(serializers.Serializer):
    """Every API error has this shape: a stable `code` and a human-readable `detail`."""

    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `not_found`.")
    detail = serializers.CharField(help_text="Human-readable explanation.")


# --- Specs -----------------------------------------------------------------------------------


class AuthorityLevelSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The word as written in headings, e.g. `root`.")
    rank = serializers.IntegerField(
        help_text="Lower means more authority; words sharing a rank are synonyms across versions."
    )
    description = serializers.CharField()


class SpecSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    description = serializers.CharField()
    current_version = serializers.SerializerMethodField(
        help_text="Label of the published version; null until one is published."
    )
    url = serializers.SerializerMethodField(help_text="The versions of this spec (API).")
    html_url = serializers.SerializerMethodField(help_text="The spec's page for people.")
    authority_vocabulary = AuthorityLevelSerializer(
        many=True, source="vocabulary", help_text="Ordered by rank, most authority first."
    )

    def get_current_version(self, spec: Spec) -> str | None:
        published = spec.published  # type: ignore[attr-defined]  # prefetched by spec_list
        return published[0].label if published else None

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, spec: Spec) -> str:
        return _link(self, reverse(f"{API}:version-list", args=[spec.slug]))

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, spec: Spec) -> str:
        return _link(self, spec.get_absolute_url())


# --- Versions --------------------------------------------------------------------------------


class CommentPeriodSerializer(serializers.Serializer):
    opens_at = serializers.DateTimeField(source="comment_opens_at", allow_null=True)
    closes_at = serializers.DateTimeField(source="comment_closes_at", allow_null=True)


class VersionSerializer(serializers.Serializer):
    spec = serializers.SlugField(source="spec.slug")
    label = serializers.CharField()
    state = serializers.ChoiceField(
        choices=Version.State.choices,
        help_text="Drafts are listed only for editors and reviewers.",
    )
    parent = serializers.CharField(
        source="parent.label",
        allow_null=True,
        help_text="Label of the version this one was drafted from; null for the first.",
    )
    published_at = serializers.DateTimeField(allow_null=True)
    superseded_at = serializers.DateTimeField(allow_null=True)
    clause_count = serializers.IntegerField()
    example_count = serializers.IntegerField()
    source_hash = serializers.CharField(help_text="SHA-256 of the imported Markdown, hex.")
    comment_period = CommentPeriodSerializer(source="*")
    url = serializers.SerializerMethodField(help_text="This version with its clause tree (API).")
    html_url = serializers.SerializerMethodField(help_text="The version's reader for people.")
    source_url = serializers.SerializerMethodField(help_text="The Markdown as imported.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, version: Version) -> str:
        return version_api_url(self, version.spec.slug, version.label)

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, version: Version) -> str:
        return _link(self, version.get_absolute_url())

    @extend_schema_field(OpenApiTypes.URI)
    def get_source_url(self, version: Version) -> str:
        return _link(self, reverse("revisions:source", args=[version.spec.slug, version.label]))


class ClauseNodeSerializer(serializers.Serializer):
    """A clause in a version's outline; its `children` are the clauses nested under it, in
    reading order."""

    # Serialises a `TreeNode` of an outline `ClauseText`; the view puts `spec` and `label` in
    # the context.

    id = serializers.CharField(source="text.anchor", help_text="The clause's id in this version.")
    heading = serializers.CharField(source="text.heading")
    number = serializers.CharField(source="text.number", help_text="Section number, e.g. `2.1`.")
    level = serializers.IntegerField(source="text.level", help_text="Heading level, 1 = top.")
    authority = serializers.CharField(
        source="text.authority", help_text="Authority word; empty when the heading has none."
    )
    authority_rank = serializers.IntegerField(source="text.authority_rank", allow_null=True)
    attributes = serializers.DictField(
        source="text.attributes",
        child=serializers.CharField(),
        help_text="Other heading attributes.",
    )
    content_hash = serializers.CharField(source="text.content_hash")
    example_count = serializers.IntegerField(source="text.example_count")
    url = serializers.SerializerMethodField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["children"] = ClauseNodeSerializer(many=True)
        return fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, node: TreeNode[ClauseText]) -> str:
        return clause_api_url(self, self.context["spec"], self.context["label"], node.text.anchor)


class VersionDetailSerializer(VersionSerializer):
    changelog = serializers.CharField()
    clauses = ClauseNodeSerializer(
        many=True, source="clause_tree", help_text="Top-level clauses in reading order."
    )


# --- Clause texts ----------------------------------------------------------------------------


class ExampleTurnSerializer(serializers.Serializer):
    role = serializers.CharField(help_text="`system`, `developer`, `user`, `assistant`, …")
    attributes = serializers.DictField(child=serializers.CharField())
    content = serializers.CharField(help_text="Markdown.")
    content_html = serializers.CharField()
    candidate = serializers.BooleanField(help_text="One of the compared candidate answers.")
    label = serializers.ChoiceField(
        choices=["GOOD", "OK", "BAD"], allow_null=True, help_text="Null for unlabelled turns."
    )
    label_note = serializers.CharField(allow_blank=True)
    label_clause = serializers.CharField(
        allow_null=True, help_text="Id of the clause the label cites, if any."
    )


class WorkedExampleSerializer(serializers.Serializer):
    title = serializers.CharField(help_text="Markdown.")
    title_html = serializers.CharField()
    slug = serializers.SlugField()
    turns = ExampleTurnSerializer(many=True)


class ClauseAppearanceSerializer(serializers.Serializer):
    """The same clause (by identity) in a version the viewer may see."""

    label = serializers.CharField(source="version.label")
    state = serializers.ChoiceField(source="version.state", choices=Version.State.choices)
    id = serializers.CharField(source="anchor", help_text="The clause's id in that version.")
    same_text = serializers.SerializerMethodField(
        help_text="True when its content hash equals this text's."
    )
    url = serializers.SerializerMethodField()

    def get_same_text(self, text: ClauseText) -> bool:
        return text.content_hash == self.context["content_hash"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, text: ClauseText) -> str:
        return clause_api_url(self, self.context["spec"], text.version.label, text.anchor)


class ClauseTextSerializer(serializers.Serializer):
    spec = serializers.SlugField(source="version.spec.slug")
    version = serializers.CharField(source="version.label")
    id = serializers.CharField(source="anchor", help_text="The clause's id in this version.")
    heading = serializers.CharField()
    heading_html = serializers.CharField()
    number = serializers.CharField()
    level = serializers.IntegerField()
    parent = serializers.CharField(
        source="parent.anchor", allow_null=True, help_text="Id of the enclosing clause."
    )
    authority = serializers.CharField()
    authority_rank = serializers.IntegerField(allow_null=True)
    attributes = serializers.DictField(child=serializers.CharField())
    content_hash = serializers.CharField()
    body_markdown = serializers.CharField()
    body_html = serializers.CharField()
    plain_text = serializers.CharField()
    footnotes = serializers.ListField(
        child=serializers.CharField(), help_text="Ids of the footnotes the body cites."
    )
    examples = WorkedExampleSerializer(many=True, source="example_list")
    versions = ClauseAppearanceSerializer(
        many=True,
        source="appearances",
        help_text="Every version the viewer may see that has this clause, newest first.",
    )
    url = serializers.SerializerMethodField()
    html_url = serializers.SerializerMethodField()
    history_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, text: ClauseText) -> str:
        return clause_api_url(self, text.version.spec.slug, text.version.label, text.anchor)

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, text: ClauseText) -> str:
        return _link(self, text.get_absolute_url())

    @extend_schema_field(OpenApiTypes.URI)
    def get_history_url(self, text: ClauseText) -> str:
        path = reverse(f"{API}:clause-history", args=[text.version.spec.slug, text.anchor])
        return _link(self, path)
