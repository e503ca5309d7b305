"""How the calls went over a period: figures from the local mirror, as plain functions.

The API has no date filter and no aggregates, so statistics read the mirror only. Two queries
over the period, whatever its length: calls grouped by local hour, status and direction (every
count, rate and per-day or per-hour figure rolls up from those groups), and calls grouped by local
day and duration in whole seconds (average, p90 and the histogram, exactly, from a few hundred
rows a day). Past days are cached one by one (see `call_stats`).
"""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from voxdash.calls.filters import CallFilters
from voxdash.calls.models import Call
from voxdash.lib.caching import cached_or_fetch_many
from voxdash.vox.statuses import FAILURE_STATUSES, TERMINAL_STATUSES

# Histogram buckets of duration in seconds: [low, high), the last one open-ended.
DURATION_BUCKETS = ((0, 30), (30, 60), (60, 120), (120, 300), (300, 600), (600, None))


@dataclass(frozen=True)
class Period:
    """Whole days in TIME_ZONE, both ends included."""

    first_day: date
    last_day: date

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
    """The period's figures. Days before today come from the cache when they can.

    Aggregating a million calls takes most of a second, and 30 days of a busy business is about
    that. A past day hardly changes (a late webhook, a sync catching up), so each one is cached
    for VOX_STATS_CACHE_SECONDS and only today is always counted afresh.
    """
    today = today or timezone.localdate()
    # Today has no key: it is always counted.
    keys = {day: _day_key(day, agent, from_number) if day < today else None for day in period.days}
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


def stats_days_refresh(*, days: int = 30, today: date | None = None) -> int:
    """Count the past `days` days (before today) afresh and cache them: the worker runs this every
    few minutes, so the stats page only ever counts today itself. Returns the days cached."""
    if not settings.VOX_STATS_CACHE_SECONDS:
        return 0
    today = today or timezone.localdate()
    period = Period(today - timedelta(days=days), today - timedelta(days=1))
    fresh = day_figures(period)
    # Twice the page's lifetime, so a slow or late run never leaves a gap for the page to fill.
    cache.set_many(
        {_day_key(day, None, None): fresh[day] for day in period.days}, 2 * settings.VOX_STATS_CACHE_SECONDS
    )
    return len(period.days)


def day_figures(
    period: Period, *, agent: str | None = None, from_number: str | None = None
) -> dict[date, DayFigures]:
    """Each day's groups, straight from the mirror: two queries, whatever the period's length."""
    calls = stats_calls(period, agent=agent, from_number=from_number)
    tz = timezone.get_current_timezone()
    figures = {day: DayFigures() for day in period.days}
    answered = Q(started_at__isnull=False) | Q(status="completed")
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
