from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "modelspec_site.accounts"
    label = "accounts"
    verbose_name = "Accounts and staff roles"
