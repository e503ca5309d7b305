from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "voxdash.directory"
    label = "directory"
