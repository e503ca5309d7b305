from django.apps import AppConfig


class PlacementsConfig(AppConfig):
    name = "voxdash.placements"
    label = "placements"
    verbose_name = "Placed calls"

    def ready(self):
        from voxdash.calls.sync import calls_mirrored

        calls_mirrored.connect(_link_new_calls, dispatch_uid="placements-link")


def _link_new_calls(sender, created, updated, **kwargs):
    # Only a call new to the mirror can be the one a placement became.
    if created:
        from .services import placements_link

        placements_link()
