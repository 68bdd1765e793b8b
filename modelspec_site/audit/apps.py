from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "modelspec_site.audit"
    label = "audit"
    verbose_name = _("Audit ledger")

    def ready(self) -> None:
        checks.register(signing_key_configured, checks.Tags.security, deploy=True)


def signing_key_configured(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """`check --deploy`: production signs checkpoints with a key it was given, not one
    generated on the machine (which nobody outside knows to trust, and a rebuild loses)."""
    if settings.AUDIT_CHECKPOINT_SIGNING_KEY:
        return []
    return [
        checks.Warning(
            "AUDIT_CHECKPOINT_SIGNING_KEY is not set: ledger checkpoints are signed with a key "
            "generated in AUDIT_CHECKPOINT_KEY_FILE.",
            hint="Set it to base64 of a 32-byte Ed25519 private key (docs/operations.md).",
            id="audit.W001",
        )
    ]
