from django.apps import AppConfig

from voxdash.mirror.signals import calls_mirrored


class PlacementsConfig(AppConfig):
    name = "voxdash.placements"
    label = "placements"
    verbose_name = "Placed calls"

    def ready(self):
        calls_mirrored.connect(_link_new_calls, dispatch_uid="placements-link")


def _link_new_calls(sender, created, updated, **kwargs):
    # Only a call new to the mirror can be the one a placement became.
    if created:
        # Imported here, not at the top: apps.py loads before the models this module imports.
        from voxdash.mirror.placements import placements_link

        placements_link()
