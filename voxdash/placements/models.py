from __future__ import annotations

import hashlib
import json
import uuid

from django.conf import settings
from django.db import models


def payload_fingerprint(payload: dict) -> str:
    """The same body gives the same fingerprint, whatever the key order."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# What a placed call keeps of the mirrored call it became: its field -> the mirrored Call's field.
# Written by voxdash.mirror (and save(), below); read by the history's placed-call filters.
MIRRORED_COPY = {
    "mirrored_call_id": "pk",
    "mirrored_call_created_at": "created_at",
    "mirrored_call_status": "status",
}
# The copy before the mirror has the call (the status column is not null: empty).
NOT_MIRRORED = {"mirrored_call_id": None, "mirrored_call_created_at": None, "mirrored_call_status": ""}


class PlacedCall(models.Model):
    """One attempt to place a call through voxdash: who, when, what, with which key, and the outcome.

    The record is written before voxdash talks to Vox and updated with the outcome, so even an
    attempt whose response was lost is on record. Attempts that share an idempotency key are the
    same logical call: Vox dials it once. Of those, the first that Vox accepted is the placement
    (`queued`, at most one per key); every later accepted one is a repeat (`replayed`).
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", "Sending"
        QUEUED = "queued", "Queued"
        REPLAYED = "replayed", "Repeat of a placed call"
        REJECTED = "rejected", "Rejected by Vox"
        UNKNOWN = "unknown", "Outcome unknown"
        THROTTLED = "throttled", "Stopped by the per-user limit"
        # A call for later (`place_at`): waits here until due, then is sent like any other.
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"
        # Stopped by the guard before it reached Vox (do-not-call list, calling window).
        BLOCKED = "blocked", "Not placed"

    class Origin(models.TextChoices):
        FORM = "form", "Place a call"
        SCHEDULED = "scheduled", "Scheduled call"
        CAMPAIGN = "campaign", "Campaign"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150, help_text="Kept when the user is deleted")
    attempted_at = models.DateTimeField(auto_now_add=True, db_index=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, db_index=True)
    payload = models.JSONField(help_text="The body sent to Vox (holds no secrets)")
    payload_fingerprint = models.CharField(max_length=64)
    customer_phone = models.CharField(max_length=32)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    error_kind = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    # What Vox answered: its id for the placed call (which may differ from the listed call's id).
    vox_placement_id = models.CharField(max_length=64, blank=True, db_index=True)
    vox_created_at = models.DateTimeField(null=True, blank=True)
    # Vox's 422 details by field, so a repeat of a refused call can show them again.
    error_fields = models.JSONField(default=dict, blank=True)
    # The call in the history, once found (by id, or by phone and time when the ids differ).
    listed_call_id = models.CharField(max_length=64, blank=True, db_index=True)
    # That call's row in the mirror, its created_at and its status, once the mirror has it (the
    # copy, MIRRORED_COPY): the history's agent, number and "placed by" filters, alone or with a
    # status or dates, list, order and count their calls from this table alone, and read only the
    # page's rows from the mirror (by key), where matching listed_call_id meant one look-up by a
    # 36-character id per placed call, and a status one look-up of the mirrored row per placed
    # call. voxdash.mirror keeps the copy current (with listed_call_id, and when the mirror gains
    # the call or its createdAt or status moves); save() fills it for a record written with
    # listed_call_id alone. No constraint: nothing deletes mirrored calls, and a constraint would
    # refuse the mirror's rebuild (TRUNCATE) and the bulk loads.
    mirrored_call = models.ForeignKey(
        "calls.Call",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # Nothing looks placed calls up by it (they are found by listed_call_id, and read in full
        # for a filter): an index would only cost writes.
        db_index=False,
        related_name="+",
    )
    mirrored_call_created_at = models.DateTimeField(null=True, blank=True)
    # Empty: not mirrored yet. The database's default too, so that a worker of the version before
    # this column (a rolling deploy) still records the calls it places.
    mirrored_call_status = models.CharField(max_length=32, blank=True, default="", db_default="")
    answered_locally = models.BooleanField(
        default=False, help_text="Answered from an earlier attempt's known outcome; nothing was sent to Vox"
    )
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.FORM)
    # Scheduled calls only: when it is due. Sent by the worker (placements_due_send) when due.
    place_at = models.DateTimeField(null=True, blank=True)
    # Campaign attempts only: "<campaign id>:<row number>:<attempt>", for links and the admin
    # (placements knows no campaign; campaigns find their attempts by idempotency key).
    origin_ref = models.CharField(max_length=64, blank=True)
    # The person saw that it was outside the business hours (at the time it was to go) and chose to
    # call anyway. Kept so that a scheduled call, checked again when due, keeps that choice.
    window_confirmed = models.BooleanField(default=False)
    # Scheduled calls: when a worker claimed it to send. A claim older than the send lease (the
    # worker died mid-send) is sent again with the same key (voxdash.placements.scheduled).
    send_started_at = models.DateTimeField(null=True, blank=True)
    # Scheduled calls: who cancelled it, and when.
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_by_name = models.CharField(max_length=150, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-attempted_at"], name="placed_user_recent"),
            # The list's origin filter: the few attempts by hand among a campaign's many.
            models.Index(fields=["origin", "-attempted_at"], name="placed_origin_recent"),
            # The worker's "which scheduled calls are due" query.
            models.Index(fields=["outcome", "place_at"], name="placed_due"),
        ]
        # Who may place calls is this permission (voxdash.accounts.roles): the Callers group holds
        # it, and the admin may grant it to one person without the group.
        permissions = [("place_call", "Can place a call through voxdash")]
        constraints = [
            # Two attempts learning of the same placement at once (a lost response, then two
            # presses) cannot both record it as placed: the database picks one.
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(outcome="queued"),
                name="placed_one_placement_per_key",
            ),
            # A scheduled call is one record for its key, from scheduling to sending: two presses
            # of "Schedule" cannot leave two records for the worker to send.
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(origin="scheduled"),
                name="placed_one_schedule_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_phone} by {self.username} ({self.get_outcome_display()})"

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        linking = update_fields is None or "listed_call_id" in update_fields
        if linking and self.listed_call_id and self.mirrored_call_id is None:
            # Linked by id alone (a record made by hand, a repeat copied before its call was
            # mirrored): the mirror's row, if it has it yet, so that the filters find this call.
            # The model through the relation: placements does not import calls (tests/test_dependencies).
            mirrored = self._meta.get_field("mirrored_call").related_model._default_manager
            found = mirrored.filter(vox_id=self.listed_call_id).values(*MIRRORED_COPY.values()).first()
            if found is not None:
                for field, call_field in MIRRORED_COPY.items():
                    setattr(self, field, found[call_field])
                if update_fields is not None:
                    kwargs["update_fields"] = [*update_fields, *MIRRORED_COPY]
        super().save(*args, **kwargs)

    @classmethod
    def for_body(cls, *, user, idempotency_key, payload: dict, **fields) -> PlacedCall:
        """A new (unsaved) attempt to send `payload` with this key, by `user`."""
        return cls(
            user=user,
            username=user.get_username(),
            idempotency_key=idempotency_key,
            payload=payload,
            payload_fingerprint=payload_fingerprint(payload),
            customer_phone=payload["customer_phone"],
            **fields,
        )

    @property
    def reached_vox(self) -> bool:
        return self.outcome in ACCEPTED_OUTCOMES

    @property
    def purpose(self) -> str:
        return self.payload.get("purpose", "")

    @property
    def customer_name(self) -> str:
        return self.payload.get("customer_name", "")

    @property
    def context(self) -> str:
        return self.payload.get("context", "")


# Outcomes of the attempts Vox accepted: the placement and its repeats.
ACCEPTED_OUTCOMES = (PlacedCall.Outcome.QUEUED, PlacedCall.Outcome.REPLAYED)
