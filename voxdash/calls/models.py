from datetime import datetime

from django.db import models
from django.db.models import Q

from voxdash.vox.statuses import COMPLETED, TERMINAL_STATUSES

# An answered call: the customer picked up (it started), or it completed (always picked up, even
# when Vox leaves out its start). The same rule twice: in SQL for direct counts, in Python for the
# stats rollup (voxdash.mirror.rollup), side by side so they cannot drift apart.
ANSWERED = Q(started_at__isnull=False) | Q(status=COMPLETED)


def call_is_answered(status: str, started_at: datetime | None) -> bool:
    return started_at is not None or status == COMPLETED


class Call(models.Model):
    """The local mirror of one Vox call, upserted by its Vox id from listings and webhooks."""

    vox_id = models.CharField(max_length=64, unique=True)
    business_id = models.CharField(max_length=64, blank=True)
    direction = models.CharField(max_length=16)
    status = models.CharField(max_length=32)
    customer_phone = models.CharField(max_length=32)
    customer_name = models.CharField(max_length=200, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(help_text="Vox's createdAt")
    recording_url = models.URLField(max_length=1000, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    # When the current status became true, by Vox's clock (webhook `created`), so that a late,
    # older event never overwrites a newer one.
    status_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The last payload Vox sent about it")

    class Meta:
        # Newest first, with the id as tie-break so paging is stable for equal timestamps.
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="call_newest"),
            models.Index(fields=["status", "-created_at"], name="call_status_newest"),
            models.Index(fields=["direction", "-created_at"], name="call_direction_newest"),
            models.Index(fields=["direction", "status", "-created_at"], name="call_dir_status_newest"),
            models.Index(fields=["customer_phone"], name="call_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} call {self.vox_id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class SyncState(models.Model):
    """Where each sync stands, in the database so it survives a killed worker and a cleared cache.

    `watermark` is the newest `createdAt` as of the start of the last sync walk that completed:
    every call created at or before it has been mirrored at least once, so an incremental sync may
    stop there. A killed run leaves it alone, which is what makes the next run finish the job.
    """

    name = models.CharField(max_length=32, unique=True)  # "calls" | "directory"
    watermark = models.DateTimeField(null=True, blank=True)
    # A full sync's resume point: the next page to read, and the watermark its walk started with.
    full_next_page = models.PositiveIntegerField(null=True, blank=True)
    full_watermark = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_page_at = models.DateTimeField(null=True, blank=True, help_text="When a page was last committed")
    last_finished_at = models.DateTimeField(null=True, blank=True, help_text="When a run last completed")
    last_full_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.name} sync"


# The rollup's spans, in minutes. CallRollup keeps hours (what most zones' local hours are made
# of: four times fewer rows to read) and quarter-hours (what every zone's are made of);
# CallDurationRollup keeps days too, coarsest first: a period is tiled with them in turn.
ROLLUP_SLOT_MINUTES = 15
CALL_ROLLUP_SPANS = (60, ROLLUP_SLOT_MINUTES)
ROLLUP_SPANS = (1440, 60, ROLLUP_SLOT_MINUTES)


class CallRollup(models.Model):
    """How many calls were created in each UTC hour and in each UTC quarter-hour, by status and
    direction: what /stats/ sums instead of counting the calls themselves (voxdash.mirror.rollup
    keeps it; its docstring says why these spans and how it stays equal to a direct count).

    Every real time zone's offset is a whole number of quarter-hours, so any zone's local days and
    hours are exact unions of the quarter-hours, and of the hours in a zone of whole-hour offsets.
    """

    span = models.PositiveSmallIntegerField(help_text="The span's length in minutes: 15 or 60")
    start = models.DateTimeField(help_text="Start of the UTC span, a multiple of its length")
    status = models.CharField(max_length=32)
    direction = models.CharField(max_length=16)
    calls = models.IntegerField(default=0)
    # Of those, the calls the customer picked up (started, or completed): the answer rate's numerator.
    answered = models.IntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index every read and upsert uses (a period is a range of one span's starts).
            models.UniqueConstraint(fields=["span", "start", "status", "direction"], name="call_rollup_key"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.span} min from {self.start:%Y-%m-%d %H:%M}, {self.direction} {self.status}: {self.calls}"
        )


class CallDurationRollup(models.Model):
    """How many calls of each whole-second duration were created in a UTC span (a quarter-hour, an
    hour or a day), kept at the three sizes so that any local period is a few ranges of rows: whole
    UTC days in the middle, hours and quarter-hours at its two ends (mirror.rollup explains)."""

    span = models.PositiveSmallIntegerField(help_text="The span's length in minutes: 15, 60 or 1440")
    start = models.DateTimeField(help_text="Start of the UTC span, a multiple of its length")
    duration_seconds = models.PositiveIntegerField()
    calls = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["span", "start", "duration_seconds"], name="call_duration_rollup_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.span} min from {self.start:%Y-%m-%d %H:%M}, {self.duration_seconds} s: {self.calls}"
