from django.apps import AppConfig

from voxdash.mirror.signals import calls_mirrored


class PlacementsConfig(AppConfig):
    name = "voxdash.placements"
    label = "placements"
    verbose_name = "Placed calls"

    def ready(self):
        calls_mirrored.connect(_link_new_calls, dispatch_uid="placements-link")


def _link_new_calls(sender, created, updated, **kwargs):
    # A placement becomes a call new to the mirror, or one whose phone the mirror has only just
    # learnt (created from a webhook, listed later): only these calls' placements can link now.
    if created or updated:
        # Imported here, not at the top: apps.py loads before the models this module imports.
        from voxdash.mirror.placements import placements_link

        placements_link([*created, *updated])
