from django.apps import AppConfig


class AccountsConfig(AppConfig):
    verbose_name = "Accounts"
    name = "voxdash.accounts"
    label = "accounts"

    def ready(self) -> None:
        from . import throttle

        throttle.connect_signals()
