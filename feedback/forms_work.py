"""Forms for working an item (the staff item page) and for the submitter's answer.

Fields and size limits at the edge; every rule about who may do what, and whether a move is
possible now, stays in `feedback.transitions` and the workflow table. The transition form is
drawn from a workflow `Action`: it has exactly the fields the action `requires`."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from . import workflow
from .models import Position, State
from .transitions import NOTE_MAX, RATIONALE_MAX

tracking_validator = RegexValidator(
    r"^[A-Z]{2,9}-[0-9]{4}-[0-9]{5,9}$", _("Enter a tracking number such as MS-2025-00042.")
)


def _textarea(rows: int = 4) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class TransitionForm(forms.Form):
    """One workflow action. `expected_state` is the state the form was drawn for: when the item
    has moved on since, the service refuses with a conflict and nothing changes."""

    expected_state = forms.ChoiceField(choices=State.choices, widget=forms.HiddenInput)

    def __init__(self, *args, action: workflow.Action, **kwargs) -> None:
        kwargs.setdefault("prefix", action.name)
        super().__init__(*args, **kwargs)
        self.action = action
        if workflow.DUPLICATE_OF in action.requires:
            self.fields["duplicate_of"] = forms.CharField(
                label=_("Duplicate of (tracking number)"),
                max_length=32,
                help_text=_("The original item. Its endorsements and followers move to it."),
            )
        if workflow.RATIONALE in action.requires:
            self.fields["rationale"] = forms.CharField(
                label=_("Public rationale"),
                max_length=RATIONALE_MAX,
                widget=_textarea(),
                help_text=_("Shown on the item's public page and sent to the submitter."),
            )
        if workflow.MESSAGE in action.requires:
            self.fields["message"] = forms.CharField(
                label=_("Message to the submitter"),
                max_length=NOTE_MAX,
                widget=_textarea(),
                help_text=_("Public: it appears on the item's page."),
            )

    def clean_duplicate_of(self) -> str:
        value = self.cleaned_data["duplicate_of"].strip().upper()
        tracking_validator(value)
        return value


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)

    def __init__(self, *args, staff_usernames: list[str], **kwargs) -> None:
        kwargs.setdefault("prefix", "assign")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Nobody"))] + [(u, u) for u in staff_usernames]


class LabelsForm(forms.Form):
    labels = forms.MultipleChoiceField(
        label=_("Labels"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, label_choices: list[tuple[str, str]], **kwargs) -> None:
        kwargs.setdefault("prefix", "labels")
        super().__init__(*args, **kwargs)
        self.fields["labels"].choices = label_choices


class NoteForm(forms.Form):
    """An internal note (prefix "note") or a public reply (prefix "public"); `parent` makes it
    a reply in a thread."""

    body = forms.CharField(label=_("Message"), max_length=NOTE_MAX, widget=_textarea())
    parent = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.prefix == "public":
            self.fields["body"].label = _("Your public reply")


class PositionForm(forms.Form):
    position = forms.ChoiceField(
        label=_("Your position"), choices=Position.choices, widget=forms.RadioSelect
    )
    rationale = forms.CharField(
        label=_("Rationale"),
        required=False,
        max_length=RATIONALE_MAX,
        widget=_textarea(3),
        help_text=_("Internal: only staff read positions. Required unless you recuse."),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "position")
        super().__init__(*args, **kwargs)


PREPARABLE = ("accept", "decline", "defer")


class PrepareForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Decision"),
        choices=[(name, workflow.ACTIONS[name].label) for name in PREPARABLE],
    )
    rationale = forms.CharField(
        label=_("Public rationale"),
        max_length=RATIONALE_MAX,
        widget=_textarea(),
        help_text=_("Kept private until the decision is published."),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "prepare")
        super().__init__(*args, **kwargs)


class SubmitterAnswerForm(forms.Form):
    """The submitter's answer while their item waits for more information."""

    message = forms.CharField(
        label=_("Your answer"),
        max_length=NOTE_MAX,
        widget=_textarea(5),
        help_text=_("It appears on the item's public page, and the item goes back to triage."),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "answer")
        super().__init__(*args, **kwargs)
