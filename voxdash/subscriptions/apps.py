from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "voxdash.subscriptions"
    label = "subscriptions"
    verbose_name = "Event subscriptions"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py loads before the models these modules import.
        from . import receivers  # noqa: F401 - connects what it listens to (the import is the point)
        from .emit import deliveries_created
        from .queue import event_deliveries_request

        deliveries_created.connect(event_deliveries_request, dispatch_uid="subscriptions-queue")
