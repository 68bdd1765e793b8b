"""Forms for the feedback pages: explicit fields and size limits at the edge; the rules that
need the database (comment period, quote in the text, who may file internal items) stay in
`services`.

Two cheap defences against scripted submissions, neither of which a person notices:
- a honeypot field (`homepage`), hidden from people by CSS, `aria-hidden` and `tabindex=-1`.
  When it is filled the view refuses the submission with a generic error and stores nothing
  (see `views.feedback_new`);
- a signed timestamp (`started`) issued with the form: a submission sooner than
  `FEEDBACK_MIN_FILL_SECONDS` (default 3) after it was issued, or with a missing or forged stamp,
  gets a form error asking to check and send again."""

from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.core import signing
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from .models import Kind, Severity, State, Visibility
from .services import LIMITS

STAMP_SALT = "feedback.form.started"
STAMP_MAX_AGE = 7 * 24 * 3600  # a form left open for a week is issued a fresh stamp
TURN_ROWS = 4

KIND_HELP = {
    Kind.UNCLEAR: _("The text can be read in more than one way, or is hard to follow."),
    Kind.DISAGREE: _("The text is clear, but you think the behaviour it asks for is wrong."),
    Kind.MISSING_CASE: _("A situation the text does not cover."),
    Kind.CONFLICT: _("This clause and another one ask for different things."),
    Kind.EXAMPLE_WRONG: _("An example's answer is labelled wrongly, or the example misleads."),
    Kind.NEW_EXAMPLE: _("An example that would make the clause clearer."),
    Kind.EDITORIAL: _("Typos, grammar, broken links, formatting."),
    Kind.OTHER: _("Anything else."),
}

ROLE_CHOICES = [
    ("", _("(unused)")),
    ("system", _("System")),
    ("developer", _("Developer")),
    ("user", _("User")),
    ("assistant", _("Assistant")),
    ("tool", _("Tool")),
]
LABEL_CHOICES = [("", _("No label")), ("GOOD", _("Good answer")), ("BAD", _("Bad answer"))]

anchor_validator = RegexValidator(r"^[A-Za-z0-9_.-]{1,128}$", _("Not a valid id."))
label_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", _("Not a valid label."))
slug_validator = RegexValidator(r"^[-a-zA-Z0-9_]{1,120}$", _("Not a valid id."))


def min_fill_seconds() -> float:
    return float(getattr(settings, "FEEDBACK_MIN_FILL_SECONDS", 3))


def stamp_new() -> str:
    return signing.dumps(int(time.time() * 1000), salt=STAMP_SALT)


class TargetForm(forms.Form):
    """What the feedback is about: a clause of a version, optionally an example in it and a
    passage of its text (W3C TextQuote + TextPosition). Read from the query string on GET and
    from hidden fields on POST."""

    spec = forms.CharField(max_length=64, required=False, validators=[slug_validator])
    version = forms.CharField(max_length=64, validators=[label_validator])
    clause = forms.CharField(max_length=128, validators=[anchor_validator])
    example = forms.CharField(max_length=120, required=False, validators=[slug_validator])
    exact = forms.CharField(max_length=LIMITS["quote_exact"], required=False, strip=False)
    prefix = forms.CharField(max_length=200, required=False, strip=False)
    suffix = forms.CharField(max_length=200, required=False, strip=False)
    start = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
    end = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)

    HIDDEN = ("spec", "version", "clause", "example", "exact", "prefix", "suffix", "start", "end")


class FeedbackForm(TargetForm):
    kind = forms.ChoiceField(
        label=_("What kind of feedback is it?"), choices=Kind.choices, widget=forms.RadioSelect
    )
    summary = forms.CharField(
        label=_("Summary"),
        max_length=LIMITS["summary"],
        help_text=_("One line that says what should change. Up to 200 characters."),
    )
    body = forms.CharField(
        label=_("Details"),
        max_length=LIMITS["body"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Why, and in which situations. Markdown is allowed; links are not followed."),
    )
    suggested_text = forms.CharField(
        label=_("Suggested replacement text"),
        max_length=LIMITS["suggested_text"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Optional: the wording you would put in its place."),
    )
    severity = forms.ChoiceField(
        label=_("How much does it matter?"),
        choices=Severity.choices,
        initial=Severity.MEDIUM,
        widget=forms.RadioSelect,
    )
    affiliation = forms.CharField(
        label=_("Affiliation"),
        max_length=LIMITS["affiliation"],
        required=False,
        help_text=_("Optional: the organisation you work for or speak for, if any. Public."),
    )
    conflict_of_interest = forms.CharField(
        label=_("Conflicts of interest"),
        max_length=LIMITS["conflict_of_interest"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional: anything that could influence your view of this text. Public."),
    )
    submitter_name = forms.CharField(
        label=_("Your name"),
        max_length=LIMITS["submitter_name"],
        required=False,
        help_text=_("Optional. Shown publicly with your feedback."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    submitter_email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        required=False,
        help_text=_("Optional. Never shown publicly; used only to tell you what happens."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # Hidden from people (see the template and site.css); bots fill it.
    homepage = forms.CharField(
        label=_("Leave this field empty"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    started = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args, staff: bool = False, period_open: bool = True, similar_url: str = "", **kwargs
    ):
        super().__init__(*args, **kwargs)
        if similar_url:
            # htmx: look for similar feedback as the summary is typed (the input's own value
            # is sent as `summary`). Without JavaScript the "Check" button does the same.
            self.fields["summary"].widget.attrs.update(
                {
                    "hx-get": similar_url,
                    "hx-trigger": "keyup changed delay:400ms",
                    "hx-target": "#similar-panel",
                    "hx-swap": "innerHTML",
                    "autocomplete": "off",
                }
            )
        for i in range(1, TURN_ROWS + 1):
            self.fields[f"turn{i}_role"] = forms.ChoiceField(
                label=_("Speaker"), choices=ROLE_CHOICES, required=False
            )
            self.fields[f"turn{i}_content"] = forms.CharField(
                label=_("What they say"),
                max_length=LIMITS["example_turn_chars"],
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
            self.fields[f"turn{i}_label"] = forms.ChoiceField(
                label=_("Is this answer good or bad?"), choices=LABEL_CHOICES, required=False
            )
        if staff:
            choices = Visibility.choices if period_open else [
                (Visibility.INTERNAL, Visibility.INTERNAL.label)
            ]  # fmt: skip
            self.fields["visibility"] = forms.ChoiceField(
                label=_("Who can see it?"),
                choices=choices,
                initial=Visibility.PUBLIC if period_open else Visibility.INTERNAL,
                widget=forms.RadioSelect,
                help_text=_("Internal feedback is seen by staff only."),
            )
        self.stamp_is_fresh = False
        self._fresh_stamp = ""

    # --- rendering helpers ---
    def kind_options(self):
        return [(radio, KIND_HELP.get(radio.data["value"], "")) for radio in self["kind"]]

    def turn_rows(self):
        return [
            (i, self[f"turn{i}_role"], self[f"turn{i}_content"], self[f"turn{i}_label"])
            for i in range(1, TURN_ROWS + 1)
        ]

    def has_turns(self) -> bool:
        source = self.data if self.is_bound else self.initial
        return any(source.get(f"turn{i}_content") for i in range(1, TURN_ROWS + 1))

    def has_turn_errors(self) -> bool:
        return self.is_bound and any(name.startswith("turn") for name in self.errors)

    def stamp_value(self) -> str:
        """The stamp to put in the page: the submitted one while it is valid (so waiting counts),
        a new one otherwise."""
        submitted = self.data.get("started", "") if self.is_bound else self.initial.get("started")
        if not self.stamp_is_fresh and _stamp_time(submitted or "") is not None:
            return submitted
        if not self._fresh_stamp:
            self._fresh_stamp = stamp_new()
        return self._fresh_stamp

    def error_summary(self) -> list[tuple[str, str]]:
        """(message, fragment to link to) for every error, in the order of the form."""
        links = []
        for message in self.non_field_errors():
            links.append((message, "feedback-form"))
        for name, bound in self._bound_items():
            label = _turn_label(name) or (bound.label if name not in TargetForm.HIDDEN else "")
            for message in bound.errors:
                if label:
                    message = f"{label}: {message}"
                if name in TargetForm.HIDDEN:
                    target = "quote"
                elif name.startswith("turn"):
                    target = f"id_{name}"
                elif isinstance(bound.field.widget, forms.RadioSelect):
                    target = f"id_{name}_0"
                else:
                    target = f"id_{name}"
                links.append((message, target))
        return links

    def _bound_items(self):
        return ((name, self[name]) for name in self.fields)

    # --- validation ---
    def clean_started(self) -> str:
        value = self.cleaned_data.get("started", "")
        issued = _stamp_time(value)
        if issued is None:
            self.stamp_is_fresh = True
            raise forms.ValidationError(
                _("This form has expired. Please check your feedback and send it again."),
                code="stamp",
            )
        if time.time() - issued < min_fill_seconds():
            raise forms.ValidationError(
                _(
                    "That was quicker than we expect from a person. Please check your "
                    "feedback and send it again."
                ),
                code="too_fast",
            )
        return value

    def clean(self):
        cleaned = super().clean()
        turns = []
        for i in range(1, TURN_ROWS + 1):
            role = cleaned.get(f"turn{i}_role", "")
            content = (cleaned.get(f"turn{i}_content") or "").strip()
            label = cleaned.get(f"turn{i}_label", "")
            if not role and not content:
                if label:
                    self.add_error(f"turn{i}_label", _("Add the answer this label is for."))
                continue
            if not role:
                self.add_error(f"turn{i}_role", _("Say who speaks in this turn."))
                continue
            if not content:
                self.add_error(f"turn{i}_content", _("Write what is said in this turn."))
                continue
            if label and role != "assistant":
                self.add_error(f"turn{i}_label", _("Only the assistant's answers are labelled."))
                continue
            turns.append({"role": role, "content": content, "label": label or None})
        cleaned["example_conversation"] = turns
        return cleaned


def _turn_label(name: str) -> str:
    """'Turn 2, speaker' for the conversation rows, whose own labels repeat."""
    if not name.startswith("turn"):
        return ""
    number, _sep, part = name.removeprefix("turn").partition("_")
    parts = {"role": _("speaker"), "content": _("text"), "label": _("label")}
    return _("Turn %(number)s, %(part)s") % {"number": number, "part": parts.get(part, part)}


def _stamp_time(value: str) -> float | None:
    if not value:
        return None
    try:
        millis = signing.loads(value, salt=STAMP_SALT, max_age=STAMP_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return millis / 1000 if isinstance(millis, int) else None


class SimilarForm(forms.Form):
    spec = TargetForm.base_fields["spec"]
    version = TargetForm.base_fields["version"]
    clause = TargetForm.base_fields["clause"]
    q = forms.CharField(max_length=400, required=False)
    summary = forms.CharField(max_length=400, required=False)


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong with this feedback?"),
        min_length=3,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: abusive, spam, personal data. Only moderators read this."),
    )


SORT_CHOICES = [
    ("newest", _("Newest first")),
    ("oldest", _("Oldest first")),
    ("endorsed", _("Most endorsed")),
]


class TrackerForm(forms.Form):
    """The tracker's filters. Every field is an allowlist; a value that does not fit is
    ignored (the list is shown without that filter)."""

    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    spec = forms.ChoiceField(label=_("Specification"), required=False)
    version = forms.ChoiceField(label=_("Version"), required=False)
    clause = forms.CharField(
        label=_("Clause id"), max_length=128, required=False, validators=[anchor_validator]
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Any kind")), *Kind.choices], required=False
    )
    state = forms.ChoiceField(
        label=_("State"), choices=[("", _("Any state")), *State.choices], required=False
    )
    authority = forms.ChoiceField(label=_("Authority level"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), choices=SORT_CHOICES, required=False)

    FILTERS = ("q", "spec", "version", "clause", "kind", "state", "authority", "sort")

    def __init__(self, *args, specs=(), versions=(), authorities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["spec"].choices = [("", _("Any specification")), *specs]
        self.fields["version"].choices = [("", _("Any version")), *versions]
        self.fields["authority"].choices = [("", _("Any level")), *authorities]

    def valid_values(self) -> dict[str, str]:
        """The filters that passed validation; the rest are dropped."""
        self.is_valid()
        values = {}
        for name in self.FILTERS:
            if name in self.errors:
                continue
            value = self.cleaned_data.get(name)
            if value:
                values[name] = " ".join(str(value).split()) if name == "q" else value
        return values
