"""Today's figures for the overview: the local mirror's, counted by the stats page's own selector.

One source: the overview's tiles and the stats page's "Today" are the same numbers, and neither
spends the Vox request budget (the mirror is kept fresh by the sync and the webhooks).
"""

from django.utils import timezone

from voxdash.stats.selectors import CallStats, Period, call_stats


def todays_calls() -> CallStats:
    """Since local midnight (the active time zone's), as /stats/?period=today counts them."""
    today = timezone.localdate()
    return call_stats(Period(today, today), today=today)
