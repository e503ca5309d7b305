from django.apps import AppConfig


class PlacementsConfig(AppConfig):
    name = "voxdash.placements"
    label = "placements"
    verbose_name = "Placed calls"
