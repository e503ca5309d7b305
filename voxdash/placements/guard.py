"""The one guard every dial passes, whoever asks: the one-off form, a scheduled call when it is
due, each campaign attempt (and, later, the API).

It answers one question, "may this number be dialled now, by this asker?", with None (yes) or a
`Refusal` saying why not. Checked, in this order:
1. the do-not-call list: never, whoever asks;
2. the calling window: a campaign's own window, or the business hours for a one-off call
   (`VOXDASH_BUSINESS_HOURS`), which a person may override by confirming;
3. the per-user brake (`VOX_PLACE_CALLS_PER_MINUTE`) for people placing calls by hand. Campaigns
   are paced by their `max_in_flight` and the request budget instead, so they pass no user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from voxdash.directory.do_not_call import dnc_entry
from voxdash.lib.formatting import phone_display
from voxdash.lib.window import CallingWindow, window_parse

from .models import PlacedCall

DO_NOT_CALL = "do_not_call"
OUTSIDE_WINDOW = "outside_window"
THROTTLED = "throttled"


@dataclass(frozen=True)
class Refusal:
    code: str  # DO_NOT_CALL, OUTSIDE_WINDOW or THROTTLED
    message: str
    hours: str = ""  # OUTSIDE_WINDOW: the window, described ("Mon-Sat 08:00-20:00 (Africa/Lagos)")

    @property
    def can_be_confirmed(self) -> bool:
        """Outside business hours a person may still call, once they say so."""
        return self.code == OUTSIDE_WINDOW


def business_hours() -> CallingWindow | None:
    """The hours one-off calls are expected in; None when there are none (always fine)."""
    return window_parse(settings.VOXDASH_BUSINESS_HOURS, ZoneInfo(settings.VOXDASH_BUSINESS_TIME_ZONE))


def placements_in_last_minute(user) -> int:
    """Distinct calls (not retries of one) this user placed or scheduled by hand in the last minute.

    Scheduling counts: a runaway script scheduling calls is as much a runaway as one placing them
    (a scheduled call is counted when it is scheduled, not when the worker sends it). Campaign
    attempts carry their creator as user but are paced by the campaign: they do not count.
    """
    since = timezone.now() - timedelta(minutes=1)
    return (
        PlacedCall.objects.filter(user=user, attempted_at__gte=since)
        .filter(origin__in=[PlacedCall.Origin.FORM, PlacedCall.Origin.SCHEDULED])
        .exclude(outcome=PlacedCall.Outcome.THROTTLED)
        .values("idempotency_key")
        .distinct()
        .count()
    )


def do_not_call_message(phone: str, reason: str) -> str:
    because = f" ({reason})" if reason else ""
    return f"{phone_display(phone)} is on the do-not-call list{because}: voxdash will not dial it."


def placement_guard(
    *,
    customer_phone: str,
    window: CallingWindow | None,
    at: datetime | None = None,
    window_confirmed: bool = False,
    braked_user=None,
) -> Refusal | None:
    """None when `customer_phone` (E.164) may be dialled at `at` (default now); else why not.

    `window_confirmed`: the person saw that it is outside `window` and chose to call anyway.
    `braked_user`: the person whose per-minute brake applies (None: no brake, e.g. a campaign, or
    a retry of a call already counted).
    """
    at = at or timezone.now()
    listed = dnc_entry(customer_phone)
    if listed is not None:
        return Refusal(DO_NOT_CALL, do_not_call_message(customer_phone, listed.reason))
    if window is not None and not window_confirmed and not window.contains(at):
        return Refusal(OUTSIDE_WINDOW, f"Outside the calling hours ({window.describe()}).", window.describe())
    limit = settings.VOX_PLACE_CALLS_PER_MINUTE
    if braked_user is not None and placements_in_last_minute(braked_user) >= limit:
        return Refusal(THROTTLED, f"You may place at most {limit} calls a minute. Wait a moment.")
    return None
