from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    verbose_name = "Accounts"
    name = "voxdash.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Here, not at the top: these import auth's models, which the app registry must load first.
        from . import permissions, roles, throttle

        throttle.connect_signals()
        permissions.connect_signals()
        post_migrate.connect(roles.role_groups_ensure, dispatch_uid="voxdash-role-groups")
