from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "voxdash.webhooks"
    label = "webhooks"
