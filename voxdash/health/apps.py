from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "voxdash.health"
    label = "health"

    def ready(self) -> None:
        from . import logs

        logs.connect_celery_signals()
