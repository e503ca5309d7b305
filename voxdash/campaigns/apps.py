from django.apps import AppConfig

from voxdash.mirror.signals import calls_mirrored


class CampaignsConfig(AppConfig):
    name = "voxdash.campaigns"
    verbose_name = "Campaigns"

    def ready(self):
        calls_mirrored.connect(_collect_outcomes, dispatch_uid="campaigns-outcomes")


def _collect_outcomes(sender, created, updated, **kwargs):
    # A campaign attempt's call changed (ended, maybe): a dispatch run records its outcome and
    # fills the slot it frees. Only queued here: the signal runs inside webhook processing.
    # Imported here, not at the top: apps.py loads before the models the queue imports.
    from .queue import campaigns_dispatch_for_calls

    campaigns_dispatch_for_calls([*created, *updated])
