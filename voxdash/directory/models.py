from django.conf import settings
from django.db import models
from django.utils import timezone


class MirroredDirectoryEntry(models.Model):
    """What every mirrored number and agent carries besides its own fields."""

    vox_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=32)
    created_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    # Set when a complete listing no longer has it; cleared if it comes back. Rows are kept, not
    # deleted, because placed calls and old call records still name them.
    vanished_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class VoiceNumber(MirroredDirectoryEntry):
    """The local mirror of a Vox voice number."""

    phone_number = models.CharField(max_length=32)
    country = models.CharField(max_length=2, blank=True)
    voice_capable = models.BooleanField(default=False)
    sms_capable = models.BooleanField(default=False)
    provider = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["phone_number"]

    def __str__(self) -> str:
        return self.phone_number


class Agent(MirroredDirectoryEntry):
    """The local mirror of a Vox AI agent."""

    name = models.CharField(max_length=200)
    language = models.CharField(max_length=32, blank=True)
    voice_provider = models.CharField(max_length=64, blank=True)
    voice_id = models.CharField(max_length=64, blank=True)
    persona = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DoNotCallEntry(models.Model):
    """A number voxdash never dials: the one-off form refuses it, campaigns skip it.

    Stored in E.164, as every number voxdash sends, so a lookup is an equality on one index.
    Removing an entry deletes it and leaves a `DoNotCallChange` behind: who, when, why.
    """

    phone = models.CharField(max_length=32, unique=True, help_text="E.164")
    reason = models.CharField(max_length=200, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_by_name = models.CharField(max_length=150, blank=True, help_text="Kept when the user is deleted")
    added_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        verbose_name = "do-not-call entry"
        verbose_name_plural = "do-not-call list"

    def __str__(self) -> str:
        return self.phone


class DoNotCallChange(models.Model):
    """Every addition to and removal from the do-not-call list, kept when the entry is gone."""

    class Action(models.TextChoices):
        ADDED = "added", "Added"
        REMOVED = "removed", "Removed"

    phone = models.CharField(max_length=32, db_index=True)
    action = models.CharField(max_length=8, choices=Action.choices)
    reason = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.phone} {self.action} by {self.username or 'someone'}"
