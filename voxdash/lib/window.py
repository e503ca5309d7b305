"""Calling windows: the days and hours in which a customer may be called, in one time zone.

One rule for every dial: a campaign's own window, and the business hours a one-off call is checked
against (`VOXDASH_BUSINESS_HOURS`, outside which the form asks for a confirmation). Times are wall
clock times in the window's zone, so a window of 09:00-17:00 stays 09:00-17:00 across a daylight
saving change. A window whose end is not after its start runs past midnight (22:00-02:00), and
belongs to the day it starts on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAY_CODES, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
ALL_DAYS = frozenset(range(7))


@dataclass(frozen=True)
class CallingWindow:
    start: time
    end: time
    days: frozenset[int]  # datetime.weekday() numbers: 0 is Monday
    tz: ZoneInfo

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def _opening(self, day) -> tuple[datetime, datetime]:
        # Built in self.tz: aware datetimes sharing one tzinfo compare by wall clock, which is
        # what a window means (09:00 is 09:00 on both sides of a daylight saving change).
        opens = datetime.combine(day, self.start, tzinfo=self.tz)
        closes_day = day + timedelta(days=1) if self.crosses_midnight else day
        return opens, datetime.combine(closes_day, self.end, tzinfo=self.tz)

    def contains(self, at: datetime) -> bool:
        """Whether `at` (an aware datetime, any zone) falls inside the window."""
        local = at.astimezone(self.tz)
        # The opening that started today or, past midnight, the one that started yesterday.
        for day in (local.date(), local.date() - timedelta(days=1)):
            if day.weekday() in self.days:
                opens, closes = self._opening(day)
                if opens <= local < closes:
                    return True
        return False

    def next_open(self, at: datetime) -> datetime | None:
        """When the window next opens at or after `at` (`at` itself when it is open); None when it
        has no days. A start time that a spring-forward gap skips maps as zoneinfo maps it (up to
        the gap's length late); the dispatcher checks `contains` on every dial, so this only
        decides when to look again."""
        if self.contains(at):
            return at
        local = at.astimezone(self.tz)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if day.weekday() in self.days:
                opens, _ = self._opening(day)
                if opens > local:
                    return opens
        return None

    def open_minutes_between(self, start: datetime, end: datetime) -> float:
        """How many minutes of [start, end) fall inside the window (aware datetimes, any zone), by
        the real clock: an opening that a daylight saving change shortens counts an hour less.
        For "no calls for 4 hours of business hours": a quiet night or weekend is not silence."""
        if end <= start:
            return 0.0
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        seconds = 0.0
        # From the day before: its opening may run past midnight into the span.
        day, last = start.astimezone(self.tz).date() - timedelta(days=1), end.astimezone(self.tz).date()
        while day <= last:
            if day.weekday() in self.days:
                opens, closes = (t.astimezone(UTC) for t in self._opening(day))
                seconds += max(0.0, (min(closes, end) - max(opens, start)).total_seconds())
            day += timedelta(days=1)
        return seconds / 60

    def describe(self) -> str:
        """'Mon-Fri 09:00-17:00 (Africa/Lagos)'"""
        return f"{days_describe(self.days)} {self.start:%H:%M}-{self.end:%H:%M} ({self.tz.key})"


def days_describe(days: frozenset[int]) -> str:
    if days == ALL_DAYS:
        return "Every day"
    ordered = sorted(days)
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{DAY_NAMES[DAY_CODES[ordered[0]]]}-{DAY_NAMES[DAY_CODES[ordered[-1]]]}"
    return ", ".join(DAY_NAMES[DAY_CODES[d]] for d in ordered) or "No days"


def days_parse(codes) -> frozenset[int]:
    """['mon', 'tue'] or 'mon,tue' or 'mon-fri' -> weekday numbers. ValueError names a bad code."""
    if isinstance(codes, str):
        codes = [c for c in re.split(r"[,\s]+", codes.strip().lower()) if c]
    days: set[int] = set()
    for code in codes:
        code = code.strip().lower()
        if "-" in code:
            first, last = code.split("-", 1)
            if first not in DAY_CODES or last not in DAY_CODES:
                raise ValueError(f"unknown day range {code!r}: use mon, tue, wed, thu, fri, sat, sun")
            i, j = DAY_CODES.index(first), DAY_CODES.index(last)
            days.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif code in DAY_CODES:
            days.add(DAY_CODES.index(code))
        else:
            raise ValueError(f"unknown day {code!r}: use mon, tue, wed, thu, fri, sat, sun")
    return frozenset(days)


def days_codes(days: frozenset[int]) -> list[str]:
    return [DAY_CODES[d] for d in sorted(days)]


def window_parse(spec: str, tz: ZoneInfo) -> CallingWindow | None:
    """'mon-fri 08:00-20:00' -> a window; '' or 'always' -> None (no business hours). ValueError
    says what is wrong."""
    spec = spec.strip().lower()
    if spec in ("", "always", "off"):
        return None
    match = re.fullmatch(
        r"(?:(?P<days>[a-z,\-\s]+?)\s+)?(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})", spec
    )
    if match is None:
        raise ValueError(f"{spec!r}: expected e.g. 'mon-fri 08:00-20:00'")
    days = days_parse(match["days"]) if match["days"] else ALL_DAYS
    return CallingWindow(
        start=time.fromisoformat(match["start"].zfill(5)),
        end=time.fromisoformat(match["end"].zfill(5)),
        days=days,
        tz=tz,
    )
