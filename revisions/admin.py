"""The admin for staff. Every change goes through the services (so it is a ledger event);
what each role may do follows `modelspec_site.accounts.roles`, not Django's model permissions.
Published text is never editable here."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from modelspec_site.accounts.roles import EDITOR, has_role, is_staff_member

from . import services
from .models import AuthorityLevel, Spec, Version


class RoleAdmin(admin.ModelAdmin):
    """Staff may look; editors may change; nobody deletes through the admin."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff_member(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_staff_member(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return has_role(request.user, EDITOR)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class AuthorityLevelInline(admin.TabularInline):
    model = AuthorityLevel
    extra = 1
    fields = ["name", "rank", "description"]

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_staff_member(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return has_role(request.user, EDITOR)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return has_role(request.user, EDITOR)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return has_role(request.user, EDITOR)


@admin.register(Spec)
class SpecAdmin(RoleAdmin):
    list_display = ["slug", "title"]
    fields = ["slug", "title", "description"]
    readonly_fields = ["slug"]
    inlines = [AuthorityLevelInline]

    def save_model(self, request, obj, form, change) -> None:
        services.spec_update(
            spec=obj,
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            acting_user=request.user,
        )

    def save_formset(self, request, form, formset, change) -> None:
        # The admin's change message reads these; the services did the saving.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() and inline_form not in formset.deleted_forms:
                continue
            data = inline_form.cleaned_data
            if not data:
                continue
            try:
                if inline_form in formset.deleted_forms:
                    services.authority_level_delete(
                        level=inline_form.instance, acting_user=request.user
                    )
                else:
                    services.authority_level_set(
                        spec=form.instance,
                        name=data["name"],
                        rank=data["rank"],
                        description=data.get("description", ""),
                        acting_user=request.user,
                    )
            except ValidationError as exc:
                messages.error(request, "; ".join(exc.messages))


class VersionForm(forms.ModelForm):
    class Meta:
        model = Version
        fields = ["changelog", "comment_opens_at", "comment_closes_at"]

    def clean(self):
        data = super().clean()
        opens, closes = data.get("comment_opens_at"), data.get("comment_closes_at")
        if opens and closes and closes <= opens:
            raise forms.ValidationError(_("The comment period must close after it opens."))
        return data


@admin.register(Version)
class VersionAdmin(RoleAdmin):
    form = VersionForm
    list_display = ["spec", "label", "state", "published_at", "clause_count", "example_count"]
    list_filter = ["spec", "state"]
    ordering = ["spec", "-label"]
    fields = [
        "spec", "label", "state", "parent", "published_at", "superseded_at", "source_hash",
        "clause_count", "example_count", "changelog", "comment_opens_at", "comment_closes_at",
    ]  # fmt: skip
    readonly_fields = [
        "spec", "label", "state", "parent", "published_at", "superseded_at", "source_hash",
        "clause_count", "example_count",
    ]  # fmt: skip
    actions = ["publish"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("spec", "parent")

    def save_model(self, request, obj, form, change) -> None:
        services.version_details_update(
            version=obj,
            changelog=form.cleaned_data["changelog"],
            comment_opens_at=form.cleaned_data["comment_opens_at"],
            comment_closes_at=form.cleaned_data["comment_closes_at"],
            acting_user=request.user,
        )

    @admin.action(description=_("Publish the selected draft"))
    def publish(self, request, queryset) -> None:
        if not has_role(request.user, EDITOR):
            messages.error(request, _("Only editors publish versions."))
            return
        for version in queryset:
            try:
                services.version_publish(version=version, acting_user=request.user)
            except services.VersionStateError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Published %s.") % version.label)
