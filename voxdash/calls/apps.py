from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "voxdash.calls"
    label = "calls"
