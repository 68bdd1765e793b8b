"""Forms of the editors' pages (proposals, drafts). Fields and size limits only: what may be
proposed, and when, is decided by `revisions.proposals` and `revisions.drafts`."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import ChangeProposal, ClauseText, ProposalPosition, Spec
from .proposals import BODY_MAX, HEADING_MAX, RATIONALE_MAX


def _textarea(rows: int = 6, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


def clause_choices(texts: list[ClauseText], *, blank: str | None = None) -> list[tuple[str, str]]:
    """Clauses of a version as menu choices: '2.1 Heading (#anchor)', indented by level."""
    choices = [("", blank)] if blank is not None else []
    for text in texts:
        indent = "\u2003" * (text.level - 1)
        choices.append((text.anchor, f"{indent}{text.number} {text.heading} (#{text.anchor})"))
    return choices


def authority_choices(spec: Spec, *, blank: str) -> list[tuple[str, str]]:
    words = spec.authority_levels.order_by("rank", "name").values_list("name", flat=True)
    return [("", blank)] + [(word, word) for word in words]


class ProposalForm(forms.Form):
    operation = forms.ChoiceField(
        label=_("What to change"),
        choices=ChangeProposal.Operation.choices,
        widget=forms.RadioSelect,
    )
    clause = forms.ChoiceField(
        label=_("Clause"),
        required=False,
        help_text=_("The clause to edit, remove, move or re-rank (not for a new clause)."),
    )
    new_anchor = forms.CharField(
        label=_("Id of the new clause"),
        required=False,
        max_length=128,
        help_text=_("For a new clause: letters, digits, _ : . or -, starting with a letter."),
    )
    new_heading = forms.CharField(
        label=_("Heading"),
        required=False,
        max_length=HEADING_MAX,
        help_text=_("For an edit (empty keeps the heading) or a new clause."),
    )
    new_body_markdown = forms.CharField(
        label=_("Proposed text (Markdown)"),
        required=False,
        max_length=BODY_MAX,
        strip=False,
        widget=_textarea(14),
        help_text=_(
            "For an edit or a new clause: the whole text of the clause, without its heading."
        ),
    )
    new_authority = forms.ChoiceField(
        label=_("Authority level"),
        required=False,
        help_text=_("For a change of authority or a new clause."),
    )
    parent_anchor = forms.ChoiceField(
        label=_("Under clause"),
        required=False,
        help_text=_("For a new or moved clause: the clause it goes under."),
    )
    after_anchor = forms.ChoiceField(
        label=_("After clause"),
        required=False,
        help_text=_(
            "For a new or moved clause: the clause it follows (empty: first under its parent)."
        ),
    )
    rationale = forms.CharField(label=_("Rationale"), max_length=RATIONALE_MAX, widget=_textarea(5))

    def __init__(self, *args, spec: Spec, texts: list[ClauseText], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clause"].choices = clause_choices(texts, blank=str(_("Choose a clause")))
        self.fields["parent_anchor"].choices = clause_choices(texts, blank=str(_("(top level)")))
        self.fields["after_anchor"].choices = clause_choices(texts, blank=str(_("(first place)")))
        self.fields["new_authority"].choices = authority_choices(spec, blank=str(_("(none)")))


class PositionForm(forms.Form):
    position = forms.ChoiceField(
        label=_("Your position"),
        choices=ProposalPosition.Position.choices,
        widget=forms.RadioSelect,
    )
    rationale = forms.CharField(
        label=_("Rationale"),
        required=False,
        max_length=RATIONALE_MAX,
        widget=_textarea(4),
        help_text=_("Required to accept or decline."),
    )


class WithdrawForm(forms.Form):
    rationale = forms.CharField(
        label=_("Why (optional)"), required=False, max_length=RATIONALE_MAX, widget=_textarea(3)
    )


class DraftStartForm(forms.Form):
    spec = forms.ChoiceField(label=_("Specification"))
    label = forms.CharField(
        label=_("Label of the new version"),
        max_length=64,
        help_text=_("Usually the planned publication date, e.g. 2026-01-15."),
    )

    def __init__(self, *args, specs: list[Spec], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["spec"].choices = [(s.slug, s.title) for s in specs]


class ApplyForm(forms.Form):
    proposal = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ClauseEditForm(forms.Form):
    heading = forms.CharField(label=_("Heading"), max_length=HEADING_MAX)
    body_markdown = forms.CharField(
        label=_("Text (Markdown)"),
        required=False,
        max_length=BODY_MAX,
        strip=False,
        widget=_textarea(20),
        help_text=_("The clause's text without its heading; examples keep their ~~~xml blocks."),
    )
    authority = forms.ChoiceField(
        label=_("Authority level"),
        required=False,
        help_text=_("None makes the clause a grouping section."),
    )

    def __init__(self, *args, spec: Spec, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["authority"].choices = authority_choices(spec, blank=str(_("(none)")))


class ImportForm(forms.Form):
    source = forms.FileField(
        label=_("Markdown file"),
        help_text=_("The whole text of the version, in the format of import_spec."),
    )

    def clean_source(self):
        upload = self.cleaned_data["source"]
        limit = settings.MODELSPEC_MAX_IMPORT_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s bytes; the limit is %(limit)s bytes."),
                params={"size": upload.size, "limit": limit},
            )
        return upload
