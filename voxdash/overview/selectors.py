"""Today's figures for the overview.

The API has no date filter, but lists newest first: reading pages until a call older than
midnight appears gives today's calls exactly, in a handful of requests for a normal day.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time

from django.core.cache import cache
from django.utils import timezone

from voxdash.vox import errors, get_client
from voxdash.vox.statuses import TERMINAL_STATUSES
from voxdash.vox.types import MAX_PAGE_SIZE

TODAY_CACHE_SECONDS = 30
# A busier day than this many pages is reported as "at least" rather than spending the budget.
MAX_PAGES = 5


@dataclass
class TodaysCalls:
    since: datetime
    total: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_direction: Counter = field(default_factory=Counter)
    complete: bool = True  # False when MAX_PAGES ran out before midnight
    error: errors.VoxError | None = None

    @property
    def unfinished(self) -> int:
        return sum(n for status, n in self.by_status.items() if status not in TERMINAL_STATUSES)

    @property
    def completion_rate(self) -> float | None:
        finished = self.total - self.unfinished
        return round(100 * self.by_status["completed"] / finished) if finished else None


def start_of_today() -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def todays_calls() -> TodaysCalls:
    since = start_of_today()
    key = f"voxdash:overview:today:{since.isoformat()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    today = TodaysCalls(since=since)
    try:
        _count_calls_since(today)
    except errors.VoxError as exc:
        return TodaysCalls(since=since, error=exc)
    cache.set(key, today, TODAY_CACHE_SECONDS)
    return today


def _count_calls_since(today: TodaysCalls) -> None:
    pages = get_client().iter_calls(limit=MAX_PAGE_SIZE)
    for number, page in enumerate(pages, start=1):
        for call in page.calls:
            if call.created_at < today.since:
                return
            today.total += 1
            today.by_status[call.status] += 1
            today.by_direction[call.direction] += 1
        if number == MAX_PAGES:
            today.complete = not page.meta.has_more
            return
