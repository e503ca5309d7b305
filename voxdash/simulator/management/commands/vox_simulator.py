from django.core.management.base import BaseCommand

from voxdash.simulator import cli


class Command(BaseCommand):
    help = "Run the Vox simulator in the foreground (Ctrl-C stops it)."

    def add_arguments(self, parser):
        cli.add_arguments(parser)

    def handle(self, *args, **options):
        cli.run(options)
