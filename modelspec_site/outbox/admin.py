"""The outbox in the admin: read-only, for auditors (superusers hold every role). Messages
carry submitters' private addresses and the text of internal items, so nobody else sees the
model at all, and the bodies are shown as escaped text, never rendered."""

from django.contrib import admin
from django.http import HttpRequest

from modelspec_site.accounts.roles import AUDITOR, has_role
from modelspec_site.outbox.models import OutboxMessage

SUMMARY_FIELDS = [
    "id",
    "event_seq",
    "kind",
    "status",
    "attempts",
    "created_at",
    "next_attempt_at",
    "sent_at",
    "last_error",
]
PRIVATE_FIELDS = ["recipient", "subject", "headers", "body_text", "body_html"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "kind", "event_seq", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    ordering = ["-id"]
    actions = None
    show_full_result_count = False

    def get_fields(self, request: HttpRequest, obj: OutboxMessage | None = None) -> list[str]:
        # Belt and braces: only auditors get this far, but the private part is theirs alone.
        return SUMMARY_FIELDS + (PRIVATE_FIELDS if has_role(request.user, AUDITOR) else [])

    def get_readonly_fields(self, request: HttpRequest, obj: OutboxMessage | None = None):
        return self.get_fields(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, AUDITOR)

    def has_view_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return has_role(request.user, AUDITOR)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False
