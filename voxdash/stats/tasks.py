"""Celery tasks for the stats: thin, as everywhere."""

from celery import shared_task

from .selectors import stats_days_refresh


@shared_task(acks_late=True, ignore_result=True)
def refresh_stats_days() -> int:
    # Keeps past days counted in the cache, so /stats/ answers in tens of milliseconds at a
    # million calls instead of aggregating them all on the first visit.
    return stats_days_refresh()
