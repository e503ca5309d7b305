"""Campaigns: a list of customers to call, each row exactly once per attempt.

A campaign is a `Campaign` (what to say, from which number, when, how fast), its `CampaignRow`s
(one per row of the uploaded file, with the row's state) and its `CampaignEvent`s (who created,
started, paused, resumed or cancelled it, and what the circuit breaker did).

Each attempt to call a row is a `placements.PlacedCall` whose idempotency key is derived from the
campaign, the row and the attempt number (`attempt_key`): whatever repeats the send (a retried
task, a second worker, a worker killed mid-send, a lost response), Vox sees one key and dials once.
"""

import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.urls import reverse

from voxdash.lib.window import CallingWindow, days_parse


class Campaign(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        FINISHED = "finished", "Finished"

    # The namespace of this campaign's attempt keys (uuid5), never reused by another campaign.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField(max_length=150, help_text="Kept when the user is deleted")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="Finished or cancelled")

    # What each call says and where it comes from (the one-off form's fields).
    business_voice_number_id = models.CharField(max_length=64)
    ai_agent_id = models.CharField(max_length=64)
    purpose = models.CharField(max_length=64)
    context_template = models.TextField(help_text="{column} is replaced by the row's cell")

    # How it runs.
    max_attempts = models.PositiveSmallIntegerField(default=1)
    retry_after_minutes = models.PositiveIntegerField(default=60)
    window_start = models.TimeField()
    window_end = models.TimeField()
    window_days = models.CharField(max_length=32, help_text="Comma-separated: mon,tue,…")
    time_zone = models.CharField(max_length=64)
    max_in_flight = models.PositiveSmallIntegerField(default=5)

    # Why it paused itself (the circuit breaker), shown on its page; cleared on resume.
    pause_reason = models.TextField(blank=True)

    # The file it came from, as read: its name and header (the columns the template may name).
    file_name = models.CharField(max_length=255, blank=True)
    columns = models.JSONField(default=list, blank=True)
    rows_read = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("campaigns:detail", kwargs={"pk": self.pk})

    @property
    def window(self) -> CallingWindow:
        return CallingWindow(
            start=self.window_start,
            end=self.window_end,
            days=days_parse(self.window_days),
            tz=ZoneInfo(self.time_zone),
        )

    @property
    def is_over(self) -> bool:
        return self.state in (self.State.CANCELLED, self.State.FINISHED)


def attempt_key(campaign: Campaign, row_number: int, attempt: int) -> uuid.UUID:
    """The idempotency key of one attempt at one row: the same inputs give the same key, always."""
    return uuid.uuid5(campaign.uuid, f"row:{row_number}:attempt:{attempt}")


class CampaignRow(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"  # to dial, or to dial again after next_attempt_at
        DIALING = "dialing", "Dialling"  # attempt recorded, its request being sent
        IN_FLIGHT = "in_flight", "In flight"  # Vox queued it; no outcome yet
        COMPLETED = "completed", "Completed"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown"  # no outcome heard in time: not retried blindly
        INVALID = "invalid", "Skipped: invalid"
        DUPLICATE = "duplicate", "Skipped: duplicate"
        DO_NOT_CALL = "do_not_call", "Skipped: do-not-call"
        CANCELLED = "cancelled", "Cancelled"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rows")
    # The row's number as a spreadsheet shows it (the header is row 1).
    number = models.PositiveIntegerField()
    customer_phone = models.CharField(max_length=64, help_text="E.164 when valid, else as written")
    customer_name = models.CharField(max_length=120, blank=True)
    cells = models.JSONField(default=dict, help_text="The row as read: column -> cell")
    context = models.TextField(blank=True, help_text="The template rendered for this row")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    reason = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Attempts started")
    # PENDING: when the next attempt may start (a retry); DIALING: when its request may be sent
    # again with the same key (the lease of the worker sending it, or a short pause after an
    # error that left the outcome unknown). See voxdash.campaigns.running.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the current attempt was claimed: a DIALING row older than its lease is sent again
    # with the same key (the worker that claimed it died).
    dial_started_at = models.DateTimeField(null=True, blank=True)
    last_call_id = models.CharField(max_length=64, blank=True)
    last_status = models.CharField(max_length=16, blank=True)
    # When the latest attempt's outcome was recorded (a retry pending too): the circuit breaker
    # judges the campaign's most recent outcomes by it.
    outcome_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="campaign_row_number"),
        ]
        indexes = [
            # The dispatcher's "next rows to dial" and the page's counts and state filter.
            models.Index(fields=["campaign", "state", "number"], name="campaign_row_state"),
            # Duplicates within the file.
            models.Index(fields=["campaign", "customer_phone"], name="campaign_row_phone"),
            # The circuit breaker's "last 20 outcomes".
            models.Index(fields=["campaign", "outcome_at"], name="campaign_row_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} row {self.number} ({self.state})"

    def key(self, attempt: int | None = None):
        return attempt_key(self.campaign, self.number, attempt or self.attempts)


class CampaignRowCount(models.Model):
    """How many of a campaign's rows are in each state, kept by the database itself.

    Triggers on campaigns_campaignrow (migration 0003) add each insert's, update's and delete's
    difference here in the same statement, whichever code writes the rows (the draft maker's raw
    inserts, the dispatcher's conditional updates, a cancel's bulk update), so the counts equal a
    direct count by construction. The pages read these few rows: counting a 100,000-row campaign
    on every page and every 2-second poll took 15-80 ms (issue 15). Nothing else writes here.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="row_counts")
    state = models.CharField(max_length=16, choices=CampaignRow.State.choices)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "state"], name="campaign_row_count_state"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.state}: {self.n}"


# Rows still to be dialled or being dialled; the others are settled.
OPEN_ROW_STATES = (CampaignRow.State.PENDING, CampaignRow.State.DIALING, CampaignRow.State.IN_FLIGHT)
IN_FLIGHT_ROW_STATES = (CampaignRow.State.DIALING, CampaignRow.State.IN_FLIGHT)
SKIPPED_ROW_STATES = (CampaignRow.State.INVALID, CampaignRow.State.DUPLICATE, CampaignRow.State.DO_NOT_CALL)


class CampaignEvent(models.Model):
    """Who did what to a campaign, and when (the breaker and the dispatcher act as "voxdash")."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        STARTED = "started", "Started"
        PAUSED = "paused", "Paused"
        RESUMED = "resumed", "Resumed"
        CANCELLED = "cancelled", "Cancelled"
        BREAKER = "breaker", "Paused itself"
        FINISHED = "finished", "Finished"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, help_text="Empty: voxdash itself")
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.action} by {self.username or 'voxdash'}"
