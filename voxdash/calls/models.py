from django.db import models

from voxdash.vox.statuses import TERMINAL_STATUSES


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
