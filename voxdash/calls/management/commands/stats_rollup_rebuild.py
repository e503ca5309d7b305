"""`manage.py stats_rollup_rebuild`: count the mirror's calls into the stats rollup again."""

import time

from django.core.management.base import BaseCommand

from voxdash.mirror.rollup import rollup_rebuild


class Command(BaseCommand):
    help = (
        "Count every mirrored call into the stats rollup again, one UTC day per transaction. "
        "Needed after loading calls other than through the sync or the webhooks; safe while they run."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        last = [started]

        def progress(day, counted):
            # A line every few seconds: a large mirror takes minutes, a day takes milliseconds.
            if time.monotonic() - last[0] >= 5:
                last[0] = time.monotonic()
                self.stdout.write(f"  … {day.isoformat()}: {counted:,} calls so far")

        counted = rollup_rebuild(progress=progress)
        self.stdout.write(
            f"Counted {counted:,} calls into the stats rollup in {time.monotonic() - started:.1f} s."
        )
