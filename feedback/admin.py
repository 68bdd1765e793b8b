"""Staff views of feedback in the admin. Moderators hide and restore items (with a reason
shown publicly) through the services, so every action is a ledger event; nothing is deleted.
Submitters' e-mail addresses are shown only to moderators and auditors."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from modelspec_site.accounts.roles import AUDITOR, MODERATOR, has_role, is_staff_member

from . import services
from .errors import FeedbackError
from .models import FeedbackItem, Report


class ModerationForm(forms.ModelForm):
    class Meta:
        model = FeedbackItem
        fields = ["hidden", "hidden_reason"]

    def clean(self):
        data = super().clean()
        if data.get("hidden") and not (data.get("hidden_reason") or "").strip():
            self.add_error("hidden_reason", _("Give the reason that will be shown publicly."))
        return data


@admin.register(FeedbackItem)
class FeedbackItemAdmin(admin.ModelAdmin):
    form = ModerationForm
    list_display = [
        "tracking_number", "summary", "kind", "state", "visibility", "hidden",
        "endorsement_count", "report_count", "created_at",
    ]  # fmt: skip
    list_filter = ["state", "kind", "visibility", "hidden", "spec"]
    search_fields = ["tracking_number", "summary"]
    ordering = ["-created_at"]
    list_select_related = ["spec"]
    show_full_result_count = False
    readonly = [
        "tracking_number", "spec", "version", "clause_text", "example", "quote_exact",
        "kind", "severity", "summary", "body", "suggested_text", "example_conversation",
        "affiliation", "conflict_of_interest", "visibility", "state", "submitter",
        "submitter_name", "endorsement_count", "report_count", "created_at", "hidden_at",
    ]  # fmt: skip

    def get_fields(self, request, obj=None):
        fields = [*self.readonly, "hidden", "hidden_reason"]
        if has_role(request.user, MODERATOR, AUDITOR):
            fields.insert(fields.index("submitter_name") + 1, "submitter_email")
        return fields

    def get_readonly_fields(self, request, obj=None):
        private = ["submitter_email"] if has_role(request.user, MODERATOR, AUDITOR) else []
        return [*self.readonly, *private]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff_member(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_staff_member(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return has_role(request.user, MODERATOR)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        try:
            if form.cleaned_data["hidden"]:
                services.feedback_hide(
                    acting_user=request.user, item=obj, reason=form.cleaned_data["hidden_reason"]
                )
            elif FeedbackItem.objects.filter(pk=obj.pk, hidden=True).exists():
                services.feedback_unhide(acting_user=request.user, item=obj)
        except FeedbackError as exc:
            messages.error(request, exc.message)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["item", "reason", "created_at", "resolved"]
    list_filter = ["resolved"]
    list_select_related = ["item"]
    readonly_fields = ["item", "reason", "reporter", "created_at"]
    fields = ["item", "reason", "reporter", "created_at", "resolved"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, MODERATOR, AUDITOR)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return has_role(request.user, MODERATOR, AUDITOR)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
