from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "modelspec_site.accounts"
    label = "accounts"
    verbose_name = _("Accounts and staff roles")

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_added

        from . import signals

        authenticator_added.connect(
            signals.totp_activated_counts_as_mfa,
            dispatch_uid="accounts.totp_activated_counts_as_mfa",
        )
