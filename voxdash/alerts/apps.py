from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "voxdash.alerts"
    verbose_name = "Alerts"

    def ready(self):
        # Imported here, not at the top: apps.py loads before the models these modules import.
        from .notify import deliveries_created
        from .queue import alert_deliveries_request

        deliveries_created.connect(alert_deliveries_request, dispatch_uid="alerts-send-on-commit")
