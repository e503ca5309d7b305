"""Alert rules, the channels they notify, each firing (Alert) and each notice sent (AlertDelivery).

A rule is evaluated by beat (voxdash.alerts.evaluate); while its condition holds there is one open
Alert per rule and subject (the subject is empty for system-wide rules, a campaign's id for the
per-campaign ones). Every notice about an alert (fired, still firing, resolved) is one
AlertDelivery per channel, sent and retried on its own (voxdash.alerts.notify), so a channel that
fails never holds up another.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.urls import reverse


def new_signing_secret() -> str:
    # The same shape as Vox's own webhook secrets, so receivers can reuse their verification code.
    return "whsec_" + secrets.token_urlsafe(24)


class AlertChannel(models.Model):
    """Where notices go: an apprise URL (mailto://, slack://, msteams://, json://, ...), a plain
    http(s):// URL that receives voxdash's signed JSON, or a local file (file:///path)."""

    class Kind(models.TextChoices):
        APPRISE = "apprise", "Notification service (apprise URL)"
        WEBHOOK = "webhook", "Signed JSON webhook"
        FILE = "file", "Local file"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Secret-bearing (tokens, passwords): shown masked everywhere but the admin's edit form.
    # Empty for channels from VOXDASH_ALERT_URLS, whose URL is read from the settings when sending.
    url = models.TextField(blank=True)
    from_environment = models.BooleanField(
        default=False, help_text="Made from VOXDASH_ALERT_URLS; its URL lives in the environment"
    )
    # Position in VOXDASH_ALERT_URLS (from_environment only): which URL of the setting this row is.
    environment_index = models.PositiveIntegerField(null=True, blank=True)
    every_rule = models.BooleanField(
        default=True, help_text="Receives every rule's alerts; otherwise only the rules that name it"
    )
    enabled = models.BooleanField(default=True)
    signing_secret = models.CharField(
        max_length=100, default=new_signing_secret, help_text="Signs webhook deliveries (Cloove-Signature)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The last delivery's result, for the channel list: a failing channel is itself visible.
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def failing(self) -> bool:
        return self.last_failed_at is not None and (
            self.last_delivered_at is None or self.last_failed_at > self.last_delivered_at
        )


class AlertRule(models.Model):
    class Kind(models.TextChoices):
        FAILURE_RATE = "failure_rate", "Failed calls"
        NO_ANSWER_RATE = "no_answer_rate", "Calls not answered"
        NO_CALLS = "no_calls", "No calls in business hours"
        VOX_UNREACHABLE = "vox_unreachable", "Vox unreachable"
        KEY_REFUSED = "key_refused", "API key refused"
        SYNC_STALE = "sync_stale", "Mirror sync stale or failing"
        WEBHOOKS_REFUSED = "webhooks_refused", "Webhooks refused"
        WEBHOOKS_SILENT = "webhooks_silent", "No webhooks while calls are placed"
        OUTCOMES_MISSING = "outcomes_missing", "Placed calls without an outcome"
        CAMPAIGN_BREAKER = "campaign_breaker", "Campaign paused itself"
        CAMPAIGN_FINISHED = "campaign_finished", "Campaign finished"
        BUDGET_EXHAUSTED = "budget_exhausted", "Request budget exhausted"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    # What "threshold" and "window" mean depends on the kind (voxdash.alerts.checks.KINDS says, and
    # the form shows it): a percentage, a count, or unused (0).
    threshold = models.PositiveIntegerField(default=0)
    window_minutes = models.PositiveIntegerField(default=60)
    cooldown_minutes = models.PositiveIntegerField(
        default=60, help_text="No more than one notice per this many minutes while it keeps firing"
    )
    channels = models.ManyToManyField(AlertChannel, blank=True, related_name="rules")
    builtin = models.BooleanField(default=False, help_text="One of voxdash's own rules (can be turned off)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Evaluation state (voxdash.alerts.evaluate): since when the condition has held without a break,
    # for the kinds that must hold for `window_minutes` before they fire ("unreachable for 5 minutes").
    condition_since = models.DateTimeField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="Why the last evaluation failed, if it did")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("alerts:rule", args=[self.pk])


class Alert(models.Model):
    """One firing of a rule, from the evaluation that saw its condition to the one that saw it clear."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    subject = models.CharField(max_length=64, blank=True)
    subject_label = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # What was found, in words and as a figure, when it opened and at the latest evaluation.
    summary = models.TextField()
    value = models.FloatField(null=True, blank=True)
    link = models.CharField(max_length=500, blank=True, help_text="Where to look (a path in voxdash)")
    last_notified_at = models.DateTimeField(null=True, blank=True)
    notices = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=models.Q(resolved_at=None),
                name="alert_one_open_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.subject_label or ''}".strip()

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AlertDelivery(models.Model):
    """One notice to one channel, with its attempts: sent at once, retried with backoff on failure."""

    class Notice(models.TextChoices):
        FIRED = "fired", "Fired"
        REMINDER = "reminder", "Still firing"
        RESOLVED = "resolved", "Resolved"
        TEST = "test", "Test"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Failed, will retry"
        DELIVERED = "delivered", "Delivered"
        GAVE_UP = "gave_up", "Failed, gave up"

    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(AlertChannel, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    channel_name = models.CharField(max_length=100, help_text="Kept when the channel is deleted")
    notice = models.CharField(max_length=16, choices=Notice.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A claim older than the send lease is a worker that died mid-send: sent again.
    sending_since = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "alert deliveries"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="alert_delivery_due")]

    def __str__(self) -> str:
        return f"{self.get_notice_display()} to {self.channel_name}"
