"""A read-only view of the ledger in the admin. Nothing here can add, change or delete events;
every value is rendered through Django's escaping (no mark_safe)."""

from django.contrib import admin
from django.http import HttpRequest

from modelspec_site.accounts.roles import AUDITOR, has_role
from modelspec_site.audit.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["seq", "created_at", "actor_label", "action", "visibility"]
    list_filter = ["visibility", "actor_kind", "action"]
    search_fields = ["action", "actor_label"]
    ordering = ["-seq"]
    fields = [
        "seq",
        "created_at",
        "actor_kind",
        "actor_label",
        "actor_id",
        "action",
        "visibility",
        "subjects",
        "data",
        "prev_hash",
        "hash",
    ]
    readonly_fields = fields
    actions = None
    show_full_result_count = False  # COUNT(*) over a long ledger on every page is wasted

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, AUDITOR)

    def has_view_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return has_role(request.user, AUDITOR)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
