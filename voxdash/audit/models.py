from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """Who did what, when, from where, to which object: one row per action, never changed.

    Written by `voxdash.audit.log.audit_record` only. Rows are append-only: `save()` refuses to
    update one and `delete()` refuses to delete one; only the retention prune (a queryset delete in
    `audit_prune`) removes old rows.
    """

    class Action(models.TextChoices):
        SIGNED_IN = "signed_in", "Signed in"
        SIGNED_OUT = "signed_out", "Signed out"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        CALL_PLACED = "call_placed", "Placed a call"
        CALL_SCHEDULED = "call_scheduled", "Scheduled a call"
        CALL_CANCELLED = "call_cancelled", "Cancelled a scheduled call"
        CAMPAIGN_CREATED = "campaign_created", "Created a campaign"
        CAMPAIGN_STARTED = "campaign_started", "Started a campaign"
        CAMPAIGN_PAUSED = "campaign_paused", "Paused a campaign"
        CAMPAIGN_RESUMED = "campaign_resumed", "Resumed a campaign"
        CAMPAIGN_CANCELLED = "campaign_cancelled", "Cancelled a campaign"
        DNC_ADDED = "dnc_added", "Added to the do-not-call list"
        DNC_REMOVED = "dnc_removed", "Removed from the do-not-call list"
        DNC_IMPORTED = "dnc_imported", "Imported into the do-not-call list"
        CALLS_EXPORTED = "calls_exported", "Exported calls (CSV)"
        CAMPAIGN_ROWS_EXPORTED = "campaign_rows_exported", "Exported a campaign's rows (CSV)"
        AUDIT_EXPORTED = "audit_exported", "Exported the audit log (CSV)"
        WEBHOOK_RERUN = "webhook_rerun", "Re-ran a webhook event"
        SYNC_REQUESTED = "sync_requested", "Asked for a sync now"
        ALERT_RULE_CREATED = "alert_rule_created", "Created an alert rule"
        ALERT_RULE_CHANGED = "alert_rule_changed", "Changed an alert rule"
        ALERT_RULE_DELETED = "alert_rule_deleted", "Deleted an alert rule"
        ALERT_CHANNEL_CREATED = "alert_channel_created", "Added an alert channel"
        ALERT_CHANNEL_CHANGED = "alert_channel_changed", "Changed an alert channel"
        ALERT_CHANNEL_DELETED = "alert_channel_deleted", "Deleted an alert channel"
        ALERT_CHANNEL_TESTED = "alert_channel_tested", "Sent a test alert"
        USER_ADDED = "user_added", "Added a user"
        USER_CHANGED = "user_changed", "Changed a user"
        USER_DELETED = "user_deleted", "Deleted a user"
        GROUP_ADDED = "group_added", "Added a group"
        GROUP_CHANGED = "group_changed", "Changed a group"
        GROUP_DELETED = "group_deleted", "Deleted a group"
        PASSWORD_CHANGED = "password_changed", "Changed their password"
        MFA_ENABLED = "mfa_enabled", "Turned two-factor authentication on"
        MFA_DISABLED = "mfa_disabled", "Turned two-factor authentication off"
        RECOVERY_CODES_GENERATED = "recovery_codes_generated", "Made new two-factor recovery codes"
        API_TOKEN_CREATED = "api_token_created", "Made an API token"
        API_TOKEN_REVOKED = "api_token_revoked", "Revoked an API token"
        SUBSCRIPTION_CREATED = "subscription_created", "Added an event subscription"
        SUBSCRIPTION_CHANGED = "subscription_changed", "Changed an event subscription"
        SUBSCRIPTION_DELETED = "subscription_deleted", "Deleted an event subscription"
        EVENT_DELIVERY_RESENT = "event_delivery_resent", "Sent an event delivery again"

    class Via(models.TextChoices):
        WEB = "web", "Web"
        PASSWORD = "password", "Password"
        SSO = "sso", "Single sign-on"
        OIDC = "oidc", "OpenID Connect"
        ADMIN = "admin", "Admin"
        WORKER = "worker", "voxdash"
        API = "api", "API token"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the user is deleted; for a failed sign-in, the name that was tried.
    username = models.CharField(max_length=150, blank=True)
    via = models.CharField(max_length=16, choices=Via.choices, default=Via.WEB)
    remote_addr = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    # The object acted on, as it was at the time: a label and a link survive its deletion.
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    object_url = models.CharField(max_length=500, blank=True)
    # What else there is to say, as plain values (an export's filters, a change's fields).
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        # /audit/ pages newest first, by action, by user name or by date: each has an index that
        # reads the page in order and stops (no sort of the whole table). Each ends in the page's
        # whole order (at, id): the page's ids, and the count, come from the index alone, so a deep
        # page skips index entries, not rows (selectors._page_entries).
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_newest"),
            models.Index(fields=["action", "-at", "-id"], name="audit_action_newest"),
            models.Index(fields=["user", "-at"], name="audit_user_newest"),
            # The list filters by the name kept, which a failed sign-in has without a user.
            models.Index(fields=["username", "-at", "-id"], name="audit_username_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or 'voxdash'} {self.get_action_display()}"

    @property
    def is_deletion(self) -> bool:
        """The object is gone: its link would be a 404 (its label stays)."""
        return self.action.endswith("_deleted")

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Audit entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit entries are never deleted (only the retention prune removes old ones).")
