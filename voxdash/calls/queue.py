"""Asking the workers for a call sync ("Sync now"): when to queue one, and queueing it.

Its own module so that the direction stays one way: views → queue → tasks → sync. The sync's
services never import the tasks that run them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from voxdash.mirror.lock import sync_is_running
from voxdash.mirror.sync import report_progress, sync_progress

from .tasks import sync_calls

logger = logging.getLogger(__name__)

NOT_QUEUED = "The task queue is unreachable, so no sync was queued; the scheduled sync runs once it is back"


def calls_sync_request() -> bool:
    """Queue an incremental call sync for "Sync now"; False when one is running or already waiting.

    A second click while the first is still waiting for a worker adds nothing; a minute later
    (the worker was down?) it may ask again.
    """
    progress = sync_progress("calls") or {}
    if sync_is_running("calls"):
        return False
    if progress.get("state") == "queued" and progress.get("updated_at"):
        queued_at = datetime.fromisoformat(progress["updated_at"])
        if timezone.now() - queued_at < timedelta(seconds=60):
            return False
    report_progress("calls", "queued")
    transaction.on_commit(_queue_sync)
    return True


def _queue_sync() -> None:
    try:
        sync_calls.delay()
    except Exception as exc:  # kombu and redis raise many types; the page must answer, not 500
        logger.warning("sync not queued: the broker is unreachable (%s)", type(exc).__name__)
        report_progress("calls", "not_queued", error=NOT_QUEUED)
