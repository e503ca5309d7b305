from django.apps import AppConfig


class OverviewConfig(AppConfig):
    name = "voxdash.overview"
    label = "overview"
