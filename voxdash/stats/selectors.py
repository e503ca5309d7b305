"""How the calls went over a period: figures from the local mirror, as plain functions.

The API has no date filter and no aggregates, so statistics read the mirror only, in the same two
shapes whatever the source: calls grouped by local hour, status and direction (every count, rate
and per-day or per-hour figure rolls up from those groups), and calls by duration in whole seconds
(average, p90 and the histogram, exactly).

Every call (no agent or number chosen) is read from the stats rollup (`calls.models.CallRollup`,
kept by voxdash.mirror.rollup in the transaction of each write): two queries over rows per UTC
quarter-hour and per duration, whose number grows with the period's days, not its calls. What the
rollup cannot answer is counted from the calls directly (`day_figures`), past days cached one by
one: an agent or a number (the calls voxdash placed, through PlacedCall), and a zone whose offset
in the period is not whole quarter-hours (none today: the rollup's spans could not tile it).
"""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractHour, TruncDate, TruncHour
from django.utils import timezone

from voxdash.calls.filters import CallFilters
from voxdash.calls.models import (
    ANSWERED,
    CALL_ROLLUP_SPANS,
    ROLLUP_SPANS,
    Call,
    CallDurationRollup,
    CallRollup,
)
from voxdash.lib.caching import cached_or_fetch_many
from voxdash.lib.formatting import local_day_start
from voxdash.vox.statuses import FAILURE_STATUSES, TERMINAL_STATUSES

# Histogram buckets of duration in seconds: [low, high), the last one open-ended.
DURATION_BUCKETS = ((0, 30), (30, 60), (60, 120), (120, 300), (300, 600), (600, None))


@dataclass(frozen=True)
class Period:
    """Whole days in TIME_ZONE, both ends included."""

    first_day: date
    last_day: date

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The period as [start, end) instants: local midnight to local midnight."""
        return local_day_start(self.first_day), local_day_start(self.last_day + timedelta(days=1))

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    def calls(self, scope: CallFilters | None = None) -> CallFilters:
        """Which calls the period's figures count: `scope`'s (or all), created in the period."""
        return replace(scope or CallFilters(), created_after=self.first_day, created_before=self.last_day)


@dataclass
class CallStats:
    period: Period
    total: int = 0
    by_day: dict[date, Counter] = field(default_factory=dict)  # day -> status -> calls
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)  # local hour of day -> calls
    by_status: Counter = field(default_factory=Counter)
    by_direction: Counter = field(default_factory=Counter)
    answered: int = 0  # finished calls the customer picked up (started, or completed)
    durations: Counter = field(default_factory=Counter)  # whole seconds -> calls

    @property
    def finished(self) -> int:
        return sum(n for status, n in self.by_status.items() if status in TERMINAL_STATUSES)

    @property
    def answer_rate(self) -> float | None:
        """Share of finished calls that were answered, in percent (None: nothing finished)."""
        return 100 * self.answered / self.finished if self.finished else None

    @property
    def completion_rate(self) -> float | None:
        return 100 * self.by_status["completed"] / self.finished if self.finished else None

    @property
    def timed_calls(self) -> int:
        return sum(self.durations.values())

    @property
    def average_duration(self) -> float | None:
        if not self.timed_calls:
            return None
        return sum(seconds * n for seconds, n in self.durations.items()) / self.timed_calls

    @property
    def p90_duration(self) -> int | None:
        """The nearest-rank 90th percentile: 90 % of timed calls lasted this long or less."""
        return percentile(self.durations, 90)

    @property
    def failures(self) -> list[tuple[str, int]]:
        """Failure statuses with at least one call, most frequent first."""
        counts = [(status, self.by_status[status]) for status in FAILURE_STATUSES if self.by_status[status]]
        return sorted(counts, key=lambda item: -item[1])

    @property
    def duration_buckets(self) -> list[tuple[int, int | None, int]]:
        """(low, high or None, calls) for each DURATION_BUCKETS range, low <= seconds < high."""
        return [
            (low, high, sum(n for s, n in self.durations.items() if s >= low and (high is None or s < high)))
            for low, high in DURATION_BUCKETS
        ]


def percentile(counts: Counter, pct: int) -> int | None:
    """Nearest-rank percentile of values given as value -> how many times it occurs."""
    total = sum(counts.values())
    if not total:
        return None
    rank = -(-total * pct // 100)  # ceil(total * pct / 100) in integers: no float rounding surprises
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None  # unreachable: seen ends at total >= rank


def stats_calls(period: Period, *, agent: str | None = None, from_number: str | None = None):
    """The mirror's calls in the period (and of that agent/number, through voxdash's placements):
    the same calls as the history's link to them."""
    return Call.objects.filter(period.calls(CallFilters(agent=agent, from_number=from_number)).q()).order_by()


@dataclass
class DayFigures:
    """One local day's groups, the unit that is cached: (hour, status, direction, calls, answered)."""

    groups: list[tuple[int, str, str, int, int]] = field(default_factory=list)
    durations: Counter = field(default_factory=Counter)


def call_stats(
    period: Period, *, agent: str | None = None, from_number: str | None = None, today: date | None = None
) -> CallStats:
    """The period's figures: from the rollup when it can answer, else counted (see the docstring)."""
    if agent is None and from_number is None:
        minutes = _rollup_span(period)
        if minutes is not None:
            return _rolled_up_stats(period, minutes)
    return call_stats_counted(period, agent=agent, from_number=from_number, today=today)


def _rollup_span(period: Period) -> int | None:
    """The CallRollup span whose rows make up the period's local hours exactly: hours when every
    offset of the zone in the period is a whole number of hours, else quarter-hours; None when
    even those cannot (an offset of odd minutes: no zone since the 1970s).

    Offsets change only at the zone's transitions, a few a year and never two in a day, so the
    offsets at each local midnight of the period and at its end are all the offsets it has."""
    starts = [local_day_start(day) for day in period.days] + [period.bounds[1]]
    offsets = {int(when.utcoffset().total_seconds()) for when in starts}
    for minutes in CALL_ROLLUP_SPANS:
        if all(offset % (minutes * 60) == 0 for offset in offsets):
            return minutes
    return None


def _rolled_up_stats(period: Period, minutes: int) -> CallStats:
    """Three queries over the rollup, each returning a few hundred rows at most: calls by local
    day and status, by local hour and direction, and by duration."""
    start, end = period.bounds
    tz = timezone.get_current_timezone()
    stats = CallStats(period=period, by_day={day: Counter() for day in period.days})
    # Every local hour is a union of whole spans of `minutes` (_rollup_span), so each span's
    # local day and hour are those of every call counted in it.
    slots = CallRollup.objects.filter(span=minutes, start__gte=start, start__lt=end).order_by()
    by_day = (
        slots.annotate(day=TruncDate("start", tzinfo=tz))
        .values("day", "status")
        .annotate(n=Sum("calls"), answered=Sum("answered"))
    )
    for row in by_day:
        if not row["n"]:  # a bucket every call has left (rows stay at 0 until a rebuild)
            continue
        stats.total += row["n"]
        stats.by_day[row["day"]][row["status"]] += row["n"]
        stats.by_status[row["status"]] += row["n"]
        if row["status"] in TERMINAL_STATUSES:
            stats.answered += row["answered"]
    by_hour = (
        slots.annotate(hour=ExtractHour("start", tzinfo=tz))
        .values("hour", "direction")
        .annotate(n=Sum("calls"))
    )
    for row in by_hour:
        stats.by_hour[row["hour"]] += row["n"]
        stats.by_direction[row["direction"]] += row["n"]
    stats.by_direction = +stats.by_direction  # without the directions every call has left
    spans = Q()
    for minutes, first, after in span_ranges(start, end):
        spans |= Q(span=minutes, start__gte=first, start__lt=after)
    durations = (
        CallDurationRollup.objects.filter(spans)
        .values("duration_seconds")
        .annotate(n=Sum("calls"))
        .order_by()
    )
    stats.durations = Counter({row["duration_seconds"]: row["n"] for row in durations if row["n"]})
    return stats


def span_ranges(start: datetime, end: datetime) -> list[tuple[int, datetime, datetime]]:
    """[start, end) (whole quarter-hours) tiled by the rollup's spans, coarsest that fits first:
    (minutes, first span's start, end) runs. Quarter-hours, then hours up to a UTC midnight, whole
    days, then hours and quarter-hours again: never more than 26 small spans at each end."""
    runs: list[tuple[int, datetime, datetime]] = []
    # In UTC: adding a day to a local time adds a wall-clock day, 23 or 25 hours across a change.
    at, end = start.astimezone(UTC), end.astimezone(UTC)
    while at < end:
        for minutes in ROLLUP_SPANS:
            length = timedelta(minutes=minutes)
            if int(at.timestamp()) % (minutes * 60) == 0 and at + length <= end:
                break
        if runs and runs[-1][0] == minutes and runs[-1][2] == at:
            runs[-1] = (minutes, runs[-1][1], at + length)
        else:
            runs.append((minutes, at, at + length))
        at += length
    return runs


def call_stats_counted(
    period: Period,
    *,
    agent: str | None = None,
    from_number: str | None = None,
    today: date | None = None,
    cached: bool = True,
) -> CallStats:
    """The period's figures counted from the calls (also the reference the rollup is tested
    against, with `cached=False`). Days before today come from the cache when they can.

    Aggregating a million calls takes most of a second, and 30 days of a busy business is about
    that. A past day hardly changes (a late webhook, a sync catching up), so each one is cached
    for VOX_STATS_CACHE_SECONDS and only today is always counted afresh.
    """
    today = today or timezone.localdate()
    # Today has no key: it is always counted.
    keys = {day: _day_key(day, agent, from_number) if cached and day < today else None for day in period.days}
    figures = cached_or_fetch_many(
        keys,
        settings.VOX_STATS_CACHE_SECONDS,
        # One query over the span of the missing days (usually all of them, or today alone).
        lambda missing: day_figures(Period(missing[0], missing[-1]), agent=agent, from_number=from_number),
    )
    return _roll_up(period, [figures[day] for day in period.days])


def _day_key(day: date, agent: str | None, from_number: str | None) -> str:
    # The active zone, not the site's: a user with their own zone has other days and hours.
    zone = timezone.get_current_timezone_name()
    return f"voxdash:stats:day:v1:{zone}:{day.isoformat()}:{agent or ''}:{from_number or ''}"


def day_figures(
    period: Period, *, agent: str | None = None, from_number: str | None = None
) -> dict[date, DayFigures]:
    """Each day's groups, straight from the mirror: two queries, whatever the period's length."""
    calls = stats_calls(period, agent=agent, from_number=from_number)
    tz = timezone.get_current_timezone()
    figures = {day: DayFigures() for day in period.days}
    answered = ANSWERED
    groups = (
        calls.annotate(hour=TruncHour("created_at", tzinfo=tz))
        .values("hour", "status", "direction")
        .annotate(n=Count("id"), answered=Count("id", filter=answered))
    )
    for group in groups:
        hour = timezone.localtime(group["hour"], tz)
        figures[hour.date()].groups.append(
            (hour.hour, group["status"], group["direction"], group["n"], group["answered"])
        )
    timed = (
        calls.filter(duration_seconds__isnull=False)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day", "duration_seconds")
        .annotate(n=Count("id"))
    )
    for row in timed:
        figures[row["day"]].durations[row["duration_seconds"]] += row["n"]
    return figures


def _roll_up(period: Period, days: list[DayFigures]) -> CallStats:
    stats = CallStats(period=period, by_day={day: Counter() for day in period.days})
    for day, figures in zip(period.days, days, strict=True):
        for hour, status, direction, n, answered in figures.groups:
            stats.total += n
            stats.by_day[day][status] += n
            stats.by_hour[hour] += n
            stats.by_status[status] += n
            stats.by_direction[direction] += n
            if status in TERMINAL_STATUSES:
                stats.answered += answered
        stats.durations.update(figures.durations)
    return stats
