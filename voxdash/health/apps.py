from django.apps import AppConfig

from . import logs


class HealthConfig(AppConfig):
    name = "voxdash.health"
    label = "health"

    def ready(self) -> None:
        logs.connect_celery_signals()
