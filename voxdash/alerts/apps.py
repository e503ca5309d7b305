from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "voxdash.alerts"
    verbose_name = "Alerts"
