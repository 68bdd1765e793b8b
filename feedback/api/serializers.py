"""Feedback API representations. Explicit fields only (no ModelSerializer): the input
serializers accept exactly what a submitter may set, so state, tracking numbers, moderation
flags and the rest cannot be mass-assigned; the output serializers show exactly the public
fields, so nothing private (e-mail, token hash, report count) can leak through them.

Strictness on input: unknown fields are refused (`unknown_field`), strings must be strings (no
silent `123` -> `"123"`), and every string obeys `parsing.text_problem`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.validators import EmailValidator
from django.urls import NoReverseMatch, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from feedback.models import AnchorOutcome, FeedbackItem, Kind, Severity, State, Visibility
from feedback.services import LIMITS

from .parsing import shown, text_problem

API = "feedback_api"
TURN_ROLES = ("system", "developer", "user", "assistant", "tool")
TURN_LABELS = ("GOOD", "BAD", "OK")
QUOTE_CONTEXT_LIMIT = 500
MAX_POSITION = 10_000_000


# --- Strict fields ---------------------------------------------------------------------------


class StrictCharField(serializers.CharField):
    """A string and nothing else; CRLF and CR become LF; no NUL, control characters or lone
    surrogates."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        data = data.replace("\r\n", "\n").replace("\r", "\n")
        problem = text_problem(data)
        if problem:
            raise ValidationError(problem, code="bad_character")
        return super().to_internal_value(data)


class StrictEmailField(StrictCharField):
    default_error_messages = {"invalid": "Enter a valid e-mail address."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(EmailValidator(message=self.error_messages["invalid"]))


class StrictChoiceField(serializers.ChoiceField):
    """A choice given as a string; the error lists the choices and never echoes the input."""

    def __init__(self, choices, **kwargs: Any) -> None:
        super().__init__(choices, **kwargs)
        listed = ", ".join(str(key) for key in self.choices)
        self.error_messages["invalid_choice"] = f"Choose one of: {listed}."

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_choice")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not declare, each named in the errors with code `unknown_field`."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise ValidationError(
                {"non_field_errors": [ErrorDetail("Must be a JSON object.", code="invalid")]}
            )
        writable = {name for name, f in self.fields.items() if not f.read_only}
        errors: dict[str, Any] = {
            shown(str(key)): [ErrorDetail("Unknown field.", code="unknown_field")]
            for key in data
            if key not in writable
        }
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            detail = (
                exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            )
            errors.update(detail)
            raise ValidationError(errors) from None
        if errors:
            raise ValidationError(errors)
        return value


# --- Input -----------------------------------------------------------------------------------


class FeedbackQuoteSerializer(StrictSerializer):
    """A passage of the clause's plain text: W3C TextQuote (exact, prefix, suffix) and
    TextPosition (start, end) selectors."""

    exact = StrictCharField(
        max_length=LIMITS["quote_exact"],
        trim_whitespace=False,
        help_text="The selected text, exactly as it appears in the clause's plain text.",
    )
    prefix = StrictCharField(
        max_length=QUOTE_CONTEXT_LIMIT,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="Text just before the passage (tells repeats apart).",
    )
    suffix = StrictCharField(
        max_length=QUOTE_CONTEXT_LIMIT,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="Text just after the passage.",
    )
    start = StrictIntegerField(
        min_value=0,
        max_value=MAX_POSITION,
        required=False,
        allow_null=True,
        default=None,
        help_text="Offset of the passage in the plain text (characters).",
    )
    end = StrictIntegerField(
        min_value=0,
        max_value=MAX_POSITION,
        required=False,
        allow_null=True,
        default=None,
        help_text="Offset just after the passage.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and end <= start:
            raise ValidationError({"end": ["Must be greater than start."]})
        return attrs


class FeedbackTurnSerializer(StrictSerializer):
    """One message of an example conversation, optionally labelled GOOD, BAD or OK."""

    role = StrictChoiceField(choices=TURN_ROLES)
    content = StrictCharField(max_length=LIMITS["example_turn_chars"], trim_whitespace=False)
    label = StrictChoiceField(choices=TURN_LABELS, required=False, allow_null=True, default=None)


class SharedFieldsMixin:
    """DRF deep-copies every declared field for every serializer instance: for the submission
    (twenty fields and two nested serializers) that is most of the cost of validating it. An
    input serializer whose fields keep no per-request state and read no context can build its
    bound fields once per process (on a template instance) and validate every request with
    them. Only for such serializers."""

    @property
    def fields(self):
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            template = cls.__new__(cls)
            serializers.Serializer.__init__(template)
            shared = serializers.Serializer.fields.__get__(template, cls)
            cls._shared_fields = shared
        return shared


class FeedbackSubmitSerializer(SharedFieldsMixin, StrictSerializer):
    """What a submitter may send. Everything else about an item (its tracking number, state,
    moderation, counts, submitter account) is set by the service."""

    spec = StrictCharField(max_length=64, help_text="Spec slug, e.g. `model-spec`.")
    version = StrictCharField(max_length=64, help_text="Version label, e.g. `2025-09-12`.")
    clause = StrictCharField(
        max_length=128, help_text="The clause's id in that version, e.g. `letter_and_spirit`."
    )
    example = StrictCharField(
        max_length=120,
        required=False,
        allow_null=True,
        default=None,
        help_text="Slug of a worked example inside the clause, when the feedback is about it.",
    )
    quote = FeedbackQuoteSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="A selected passage of the clause's text; it must really be there.",
    )
    kind = StrictChoiceField(choices=Kind.choices)
    severity = StrictChoiceField(choices=Severity.choices, required=False, default=Severity.MEDIUM)
    summary = StrictCharField(max_length=LIMITS["summary"], help_text="One line.")
    body = StrictCharField(max_length=LIMITS["body"], required=False, allow_blank=True, default="")
    suggested_text = StrictCharField(
        max_length=LIMITS["suggested_text"],
        required=False,
        allow_blank=True,
        default="",
        help_text="Replacement text you propose for the clause or passage.",
    )
    example_conversation = serializers.ListField(
        child=FeedbackTurnSerializer(),
        max_length=LIMITS["example_turns"],
        required=False,
        default=list,
        help_text="A conversation showing the problem, with the answers you think good or bad.",
    )
    affiliation = StrictCharField(
        max_length=LIMITS["affiliation"], required=False, allow_blank=True, default=""
    )
    conflict_of_interest = StrictCharField(
        max_length=LIMITS["conflict_of_interest"], required=False, allow_blank=True, default=""
    )
    submitter_name = StrictCharField(
        max_length=LIMITS["submitter_name"],
        required=False,
        allow_blank=True,
        default="",
        help_text="Shown publicly with the item. Leave empty to stay anonymous.",
    )
    submitter_email = StrictEmailField(
        max_length=254,
        required=False,
        allow_blank=True,
        default="",
        help_text="Private: receipts and updates only; never shown.",
    )
    visibility = StrictChoiceField(
        choices=Visibility.choices,
        required=False,
        default=Visibility.PUBLIC,
        help_text="`internal` is for staff only.",
    )


# --- Output ----------------------------------------------------------------------------------


def _link(serializer: serializers.Field, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def item_api_path(tracking_number: str) -> str:
    return reverse(f"{API}:feedback-detail", args=[tracking_number])


def item_html_path(tracking_number: str) -> str:
    """The item's page for people, /feedback/<tracking_number>/."""
    try:
        return reverse("feedback:item", kwargs={"tracking_number": tracking_number})
    except NoReverseMatch:  # the HTML page is wired separately; the address is fixed
        return f"/feedback/{tracking_number}/"


class FeedbackQuoteOutSerializer(serializers.Serializer):
    exact = serializers.CharField()
    prefix = serializers.CharField()
    suffix = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()


class FeedbackTurnOutSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=TURN_ROLES)
    content = serializers.CharField()
    label = serializers.ChoiceField(choices=TURN_LABELS, allow_null=True)


# What a moderator's hiding withholds from the public: shown as null, with `hidden_reason`.
# Where the item sits (clause, authority, example) and what it says it is (kind, severity)
# are withheld too, as on the HTML pages (feedback.selectors.placed_for).
REDACTED_WHEN_HIDDEN = (
    "clause",
    "authority",
    "example",
    "kind",
    "severity",
    "summary",
    "body",
    "quote",
    "suggested_text",
    "example_conversation",
    "affiliation",
    "conflict_of_interest",
    "submitter_name",
)


class FeedbackCurrentSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="The latest version the item was carried to.")
    clause = serializers.CharField(
        allow_null=True,
        help_text="The clause's id in that version; null when the clause was removed, or hidden.",
    )
    outcome = serializers.ChoiceField(
        choices=AnchorOutcome.choices,
        help_text="What re-anchoring found: anchored, moved, text_changed or orphaned.",
    )
    confidence = serializers.IntegerField(allow_null=True, help_text="0 to 100.")


class FeedbackItemSerializer(serializers.Serializer):
    """An item as the viewer may see it. Serialises items from `selectors.feedback_api_items`
    (which annotates the spec slug, version label, clause id and authority, example slug).
    Staff (context `staff`) also get `visibility`, and the text of hidden items."""

    tracking_number = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="This item (API).")
    html_url = serializers.SerializerMethodField(help_text="The item's page for people.")
    spec = serializers.CharField(source="spec_slug")
    version = serializers.CharField(source="version_label")
    clause = serializers.CharField(
        source="clause_anchor",
        allow_null=True,
        help_text="The clause's id in that version; null when hidden.",
    )
    authority = serializers.CharField(
        source="clause_authority",
        allow_null=True,
        help_text=(
            "The clause's authority level in that version; empty for grouping sections; "
            "null when hidden."
        ),
    )
    example = serializers.CharField(
        source="example_slug",
        allow_null=True,
        help_text="Slug of the example, if any; null when hidden.",
    )
    quote = serializers.SerializerMethodField(
        help_text="The passage commented on; null when none, or when hidden."
    )
    kind = serializers.ChoiceField(
        choices=Kind.choices, allow_null=True, help_text="Null when hidden."
    )
    severity = serializers.ChoiceField(
        choices=Severity.choices, allow_null=True, help_text="Null when hidden."
    )
    state = serializers.ChoiceField(choices=State.choices)
    summary = serializers.CharField(allow_null=True, help_text="Null when hidden.")
    body = serializers.CharField(allow_null=True, help_text="Null when hidden.")
    suggested_text = serializers.CharField(allow_null=True, help_text="Null when hidden.")
    example_conversation = FeedbackTurnOutSerializer(
        many=True, allow_null=True, help_text="Null when hidden."
    )
    affiliation = serializers.CharField(allow_null=True, help_text="Null when hidden.")
    conflict_of_interest = serializers.CharField(allow_null=True, help_text="Null when hidden.")
    submitter_name = serializers.CharField(
        allow_null=True, help_text="The name the submitter chose to show; null when hidden."
    )
    hidden = serializers.BooleanField(help_text="Withheld by a moderator.")
    hidden_reason = serializers.CharField(
        allow_null=True, help_text="Why it was withheld; null unless hidden."
    )
    endorsement_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    current = serializers.SerializerMethodField(
        help_text=(
            "Where the item stands now, once a later version carried it forward (its clause's "
            "successor and what re-finding its passage found); null while it never was."
        )
    )
    visibility = serializers.ChoiceField(
        choices=Visibility.choices,
        required=False,
        help_text="Staff only: `public` or `internal`. Absent for everyone else.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if not self.context.get("staff", False) and "request" in self.context:
            fields.pop("visibility")
        return fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, item: FeedbackItem) -> str:
        return _link(self, item_api_path(item.tracking_number))

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, item: FeedbackItem) -> str:
        return _link(self, item_html_path(item.tracking_number))

    @extend_schema_field(FeedbackQuoteOutSerializer(allow_null=True))
    def get_quote(self, item: FeedbackItem) -> dict[str, Any] | None:
        if item.position_start is None:
            return None
        return {
            "exact": item.quote_exact,
            "prefix": item.quote_prefix,
            "suffix": item.quote_suffix,
            "start": item.position_start,
            "end": item.position_end,
        }

    @extend_schema_field(FeedbackCurrentSerializer(allow_null=True))
    def get_current(self, item: FeedbackItem) -> dict[str, Any] | None:
        version = getattr(item, "carried_version", None)
        outcome = getattr(item, "carried_outcome", "")
        if not version or not outcome:
            return None
        return {
            "version": version,
            "clause": getattr(item, "carried_clause", None),
            "outcome": outcome,
            "confidence": getattr(item, "carried_confidence", None),
        }

    def to_representation(self, item: FeedbackItem) -> dict[str, Any]:
        data = super().to_representation(item)
        if item.hidden and not self.context.get("staff", False) and data.get("current"):
            data["current"]["clause"] = None
        if not item.hidden:
            data["hidden_reason"] = None
        elif not self.context.get("staff", False):
            for name in REDACTED_WHEN_HIDDEN:
                data[name] = None
        return data


class FeedbackPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last.")
    previous = serializers.URLField(
        allow_null=True, help_text="The previous page; null on the first."
    )
    results = FeedbackItemSerializer(many=True)


class FeedbackCreatedSerializer(serializers.Serializer):
    """The receipt. `follow_token` is the private key to follow the item without an account:
    it is shown in this response only (and in replays of it), and cannot be recovered later."""

    tracking_number = serializers.CharField()
    url = serializers.URLField(help_text="The item (API).")
    html_url = serializers.URLField(help_text="The item's page for people.")
    follow_token = serializers.CharField(
        allow_null=True, help_text="Private. Keep it: only its hash is stored."
    )
    state = serializers.ChoiceField(choices=State.choices)
    created_at = serializers.DateTimeField()


class FeedbackEndorsementSerializer(serializers.Serializer):
    tracking_number = serializers.CharField()
    endorsement_count = serializers.IntegerField()


# The list's parameters that go through the triage queue's parser (`feedback.queue`), so the
# API and the queue mean the same by each filter.
QUEUE_PARAMETERS = (
    "state", "kind", "spec", "version", "clause", "authority", "has_passage", "assignee", "label",
    "visibility", "endorsements", "age", "rank", "reanchor",
)  # fmt: skip
# Filters and orderings on what only staff see (assignment, labels, visibility, workflow age):
# refused for everyone else like unknown parameters.
STAFF_ONLY_PARAMETERS = (
    "assignee", "label", "visibility", "endorsements", "age", "rank", "reanchor",
)  # fmt: skip
PUBLIC_ORDERINGS = ("newest", "oldest", "most_endorsed")
STAFF_ORDERINGS = ("waiting", "severity")


class FeedbackListQuerySerializer(StrictSerializer):
    """The list's query parameters: an allowlist. The public filters on public fields only;
    staff also have the triage queue's filters (`STAFF_ONLY_PARAMETERS`)."""

    spec = StrictCharField(max_length=64, required=False, help_text="Spec slug.")
    version = StrictCharField(max_length=64, required=False, help_text="Version label.")
    clause = StrictCharField(
        max_length=128, required=False, help_text="Clause id (in the item's version)."
    )
    kind = StrictChoiceField(choices=Kind.choices, required=False)
    state = StrictCharField(
        max_length=300,
        required=False,
        help_text="A state, several separated by commas, `active` (waiting for staff) or `closed`.",
    )
    authority = StrictCharField(
        max_length=32,
        required=False,
        help_text="The clause's authority word, e.g. `root` or `guideline`.",
    )
    has_passage = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only items on a selected passage; false: only items without one.",
    )
    q = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Full-text search in summaries, details and quoted passages (web-search "
        'syntax: words, "a phrase", -excluded, or).',
    )
    # Staff only.
    assignee = StrictCharField(
        max_length=150, required=False, help_text="Staff: a username, `me` or `none`."
    )
    label = StrictCharField(
        max_length=500, required=False, help_text="Staff: label names, comma-separated (all)."
    )
    visibility = StrictChoiceField(choices=Visibility.choices, required=False)
    endorsements = serializers.IntegerField(
        min_value=0, max_value=100_000, required=False, help_text="Staff: at least this many."
    )
    age = serializers.IntegerField(
        min_value=0,
        max_value=100_000,
        required=False,
        help_text="Staff: waiting at least this many days in the current state.",
    )
    rank = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, help_text="Staff: the clause's authority rank."
    )
    reanchor = StrictCharField(
        max_length=20,
        required=False,
        help_text="Staff: anchored, moved, text_changed, orphaned, or none (never carried).",
    )
    ordering = StrictChoiceField(
        choices=PUBLIC_ORDERINGS + STAFF_ORDERINGS, required=False, default="newest"
    )
    cursor = StrictCharField(max_length=500, required=False, help_text="From `next`/`previous`.")
    page_size = serializers.IntegerField(
        min_value=1, max_value=100, required=False, default=25, help_text="1 to 100."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from feedback.queue import queue_parse

        query: dict[str, str] = {}
        for name in QUEUE_PARAMETERS:
            value = attrs.get(name)
            if value is None or value == "":
                continue
            query[name] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        params, errors = queue_parse(query, default_states=None)
        if errors:
            raise ValidationError(
                {name: [str(m) for m in messages] for name, messages in errors.items()}
            )
        attrs["queue"] = params
        return attrs


ERROR_HELP = "Stable machine-readable code, e.g. `invalid` or `quote_mismatch`."


class FeedbackErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=ERROR_HELP)
    detail = serializers.CharField(help_text="Human-readable explanation.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages, when the request had invalid fields.",
    )
