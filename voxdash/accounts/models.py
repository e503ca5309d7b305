import zoneinfo

from django.conf import settings
from django.db import models


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class Profile(models.Model):
    """A person's own settings. Most people have none: the site's defaults apply."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voxdash_profile"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        choices=time_zone_choices,
        help_text="Times are shown in this zone; empty: the site's TIME_ZONE.",
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone or 'site time zone'})"
