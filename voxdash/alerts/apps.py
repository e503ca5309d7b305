from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class AlertsConfig(AppConfig):
    name = "voxdash.alerts"
    verbose_name = "Alerts"

    def ready(self):
        # Imported here, not at the top: apps.py loads before the models these modules import.
        from .models import Alert
        from .notify import deliveries_created
        from .queue import alert_deliveries_request
        from .selectors import open_alert_count_deleted, open_alert_count_saved
        from .services import alert_rules_ensure_builtin

        deliveries_created.connect(alert_deliveries_request, dispatch_uid="alerts-send-on-commit")
        post_save.connect(open_alert_count_saved, sender=Alert, dispatch_uid="alerts-open-count-save")
        post_delete.connect(open_alert_count_deleted, sender=Alert, dispatch_uid="alerts-open-count-delete")
        # flush (the live-server tests, a reset demo) empties the rules the migration made.
        post_migrate.connect(alert_rules_ensure_builtin, sender=self, dispatch_uid="alerts-builtin-rules")
