from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "voxdash.api"
    label = "api"
    verbose_name = "API"
