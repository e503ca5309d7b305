from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ServiceToken(models.Model):
    """A bearer token another system (a CRM, a billing job) uses for /api/v1/.

    Only a hash is kept: the token is shown once, when it is made. Each token acts through its own
    service account (`user`, "api:<name>"), so everything the token does is on record under it as a
    person's actions are: placed calls' "placed by", campaigns' creator, the audit log, the
    per-user brake. That account can never sign in (no usable password; the sign-in paths refuse
    the "api:" names, voxdash.accounts.service_accounts).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True, help_text="Which system uses it, e.g. “CRM”")
    # The token's public part, shown in lists so a token can be recognised without its secret.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)  # sha256 of the whole token, hex
    scopes = models.JSONField(default=list)
    rate_per_minute = models.PositiveIntegerField(
        default=60, help_text="Requests a minute this token may make to voxdash's API"
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_token", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def state(self, now=None) -> str:
        """ "active", "expired" or "revoked" (revoked wins: it was a person's decision)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return "expired"
        return "active"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotentRequest(models.Model):
    """The first answer to a POST made with an `Idempotency-Key`, per token, for replaying it.

    The row is written before the work starts (`in_progress`, claimed by the unique constraint), so
    two requests with the same key at once cannot both do the work; the answer is stored when it
    is known. A claim older than the lease (the process died mid-request) is taken over, and the
    work it guards is itself exactly-once (the placed call's key reaches Vox unchanged).
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    token = models.ForeignKey(ServiceToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    operation = models.CharField(max_length=64)  # which endpoint: a key is per token and endpoint
    fingerprint = models.CharField(max_length=64)  # sha256 of the request body, canonical JSON
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    status_code = models.PositiveSmallIntegerField(null=True)
    # The answer's bytes as sent (text, not JSON: PostgreSQL's jsonb would reorder its keys, and a
    # replay repeats the first answer byte for byte).
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "operation", "key"], name="api_one_answer_per_key"),
        ]
