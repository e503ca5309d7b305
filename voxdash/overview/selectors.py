"""Today's figures for the overview: the local mirror's, counted by the stats page's own selector.

One source: the overview's tiles and the stats page's "Today" are the same numbers, and neither
spends the Vox request budget (the mirror is kept fresh by the sync and the webhooks).
"""

from dataclasses import replace

from django.utils import timezone

from voxdash.calls.filters import CallFilters
from voxdash.stats.selectors import CallStats, Period, call_stats


def todays_calls() -> CallStats:
    """Since local midnight (the active time zone's), as /stats/?period=today counts them."""
    today = timezone.localdate()
    return call_stats(Period(today, today), today=today)


def today_links(today: CallStats) -> dict[str, str]:
    """Each tile's link into the history: exactly the calls the tile counts."""
    day = CallFilters(created_after=today.period.first_day)
    narrower = {
        "completed": {"status": "completed"},
        "failed": {"status": "failed"},
        "no_answer": {"status": "no_answer"},
        "in_progress": {"status": "in_progress"},
        "inbound": {"direction": "inbound"},
        "outbound": {"direction": "outbound"},
    }
    return {"all": day.history_url()} | {
        name: replace(day, **fields).history_url() for name, fields in narrower.items()
    }
