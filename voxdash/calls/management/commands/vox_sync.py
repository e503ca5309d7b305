"""`manage.py vox_sync [--full] [--skip-directory]`: the beat's sync, in the foreground, with progress."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from voxdash.calls.sync import calls_sync
from voxdash.directory.sync import directory_sync
from voxdash.mirror.lock import SyncAlreadyRunning
from voxdash.mirror.sync import SyncSummary
from voxdash.vox import errors

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Sync the local mirror (calls, then numbers and agents) from Vox, as the Celery beat does."

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="Read every page, not just what changed (resumes an interrupted full sync).",
        )
        parser.add_argument("--skip-directory", action="store_true", help="Calls only.")

    def handle(self, *args, full=False, skip_directory=False, **options):
        self._tty = self.stdout.isatty()
        self._last_line = 0.0
        started = time.monotonic()
        try:
            summary = calls_sync(full=full, progress=self._progress)
            self._end_bar()
            self._report("Calls", summary, time.monotonic() - started)
            if not skip_directory:
                self._report("Numbers and agents", directory_sync(), None)
        except SyncAlreadyRunning as exc:
            raise CommandError(f"{exc} Try again when it has finished.") from None
        except errors.VoxError as exc:
            self._end_bar()
            raise CommandError(
                f"{exc.user_message} {exc.hint} Pages read so far are kept; run again to continue."
            ) from None

    def _progress(self, summary: SyncSummary) -> None:
        total = summary.total_pages
        if total:
            done = min(summary.pages, total)
            filled = round(BAR_WIDTH * done / total)
            bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] page {summary.pages}/{total}"
        else:
            bar = f"page {summary.pages}"
        line = f"{bar}  {summary.seen} calls ({summary.created} new, {summary.updated} updated)"
        if self._tty:
            # A terminal gets one line redrawn in place.
            self.stdout.write(f"\r{line}", ending="")
            self.stdout.flush()
        else:
            # A log (no TTY) gets a plain line now and then, not thousands of carriage returns.
            now = time.monotonic()
            if now - self._last_line >= 2.0 or summary.pages == total:
                self._last_line = now
                self.stdout.write(line)

    def _end_bar(self) -> None:
        if self._tty:
            self.stdout.write("")

    def _report(self, what: str, summary: SyncSummary, seconds: float | None) -> None:
        took = f" in {seconds:.1f} s" if seconds is not None else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{what}: {summary.created} created, {summary.updated} updated, {summary.unchanged} unchanged; "
                f"{summary.requests} request{'s' if summary.requests != 1 else ''} used{took}."
            )
        )
        sys.stdout.flush()
