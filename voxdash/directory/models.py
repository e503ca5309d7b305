from django.db import models


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
