from django.apps import AppConfig


class AccountsConfig(AppConfig):
    verbose_name = "Accounts"
    name = "voxdash.accounts"
    label = "accounts"
