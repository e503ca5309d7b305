from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "voxdash.audit"
    verbose_name = "Audit log"

    def ready(self):
        # Sign-in, sign-out and failed sign-ins (password, SSO and the admin's login alike) come
        # from Django's auth signals, so no login view has to remember to record them.
        from . import signals  # noqa: F401  (connects the receivers; imported here, as Django asks)
