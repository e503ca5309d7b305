from django.apps import AppConfig


class VoxConfig(AppConfig):
    name = "voxdash.vox"
    label = "vox"
    verbose_name = "Vox API client"
