from django.db import models


class WebhookEvent(models.Model):
    """One webhook delivery from Vox, stored once by its event id before any processing.

    Only a delivery whose signature checked out becomes one (the rest are RefusedDelivery), so
    there is no "verified" flag: every row is.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting to be processed"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored (stale or duplicate)"
        UNKNOWN_TYPE = "unknown_type", "Stored: unknown event type"
        FAILED = "failed", "Processing failed"

    event_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=100)
    environment = models.CharField(max_length=16, blank=True)
    created = models.DateTimeField(null=True, blank=True, help_text="The event's own time (Vox's clock)")
    received_at = models.DateTimeField(auto_now_add=True)
    raw_body = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    deliveries = models.PositiveIntegerField(default=1, help_text="How often Vox delivered it")
    call_vox_id = models.CharField(max_length=64, blank=True, db_index=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_detail = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["event_type", "-received_at"], name="webhook_type_newest"),
            # The log's order, unfiltered and by outcome: without them a page of the newest 50
            # sorts every event (~370 ms at a million).
            models.Index(fields=["-received_at", "-id"], name="webhook_newest"),
            models.Index(fields=["outcome", "-received_at", "-id"], name="webhook_outcome_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class RefusedDelivery(models.Model):
    """A delivery the receiver refused (bad or stale signature, unusable body), for the webhook log.

    Nothing here is trusted or acted on: the claimed id and type are whatever the sender wrote,
    kept apart from WebhookEvent so a forged id can never take a real event's place.
    """

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reason = models.CharField(max_length=200)
    claimed_event_id = models.CharField(max_length=100, blank=True)
    claimed_type = models.CharField(max_length=100, blank=True)
    remote_addr = models.CharField(max_length=64, blank=True)
    body_excerpt = models.TextField(blank=True, help_text="The first 2,000 characters, as received")
    body_size = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"refused {self.claimed_type or 'delivery'} ({self.reason})"
