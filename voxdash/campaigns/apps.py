from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "voxdash.campaigns"
    verbose_name = "Campaigns"
