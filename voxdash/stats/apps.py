from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "voxdash.stats"
    label = "stats"
