from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

# What voxdash tells subscribers, by type (names as dotted as Vox's own events).
CALL_STATUS_CHANGED = "call.status_changed"
CALL_RECORDING_READY = "call.recording_ready"
CAMPAIGN_PROGRESS = "campaign.progress"
ALERT_OPENED = "alert.opened"
ALERT_RESOLVED = "alert.resolved"
EVENT_TYPES = {
    CALL_STATUS_CHANGED: "A call's status changed (queued, ringing, in progress, completed, failed, …)",
    CALL_RECORDING_READY: "A call's recording can be fetched",
    CAMPAIGN_PROGRESS: "A campaign was started, paused, resumed, cancelled, paused itself or finished",
    ALERT_OPENED: "An alert fired",
    ALERT_RESOLVED: "An alert is back to normal",
}


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class Subscription(models.Model):
    """Another system's endpoint and the event types it wants, signed with its own secret."""

    name = models.CharField(max_length=100, help_text="Which system receives it, e.g. “CRM”")
    url = models.URLField(max_length=1000, help_text="Where voxdash POSTs each event (http or https)")
    event_types = models.JSONField(default=list)
    # Given to the receiver so it can verify `Voxdash-Signature` (as Vox's `Cloove-Signature`).
    secret = models.CharField(max_length=100, default=new_secret)
    active = models.BooleanField(default=True, help_text="Off: no new events are sent to it")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("subscriptions:detail", kwargs={"pk": self.pk})


class Event(models.Model):
    """Something voxdash learned that subscribers may want; its id lets a receiver drop repeats."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def payload(self) -> dict:
        return {
            "id": str(self.uuid),
            "type": self.type,
            "created_at": self.created_at.isoformat(),
            "data": self.data,
        }


class EventDelivery(models.Model):
    """One event to one subscription: attempted until the receiver answers 2xx, for a day."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Failed, will retry"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sending_since = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)  # the receiver's HTTP status
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["subscription", "-created_at"], name="delivery_log"),
        ]


class CallSeen(models.Model):
    """What subscribers were last told of a call (its status, whether it had a recording), so each
    change is told once whichever write of the mirror announces it, and however often."""

    vox_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=32)
    recording = models.BooleanField(default=False)
