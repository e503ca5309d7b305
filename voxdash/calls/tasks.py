"""Celery tasks: thin wrappers that run a sync service and own only the retry policy."""

import logging

from celery import shared_task

from voxdash.vox import errors

from .sync import SyncAlreadyRunning, calls_sync

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5, acks_late=True)
def sync_calls(self, full: bool = False) -> dict | None:
    try:
        summary = calls_sync(full=full)
    except SyncAlreadyRunning:
        if full:  # the nightly full must still happen: try again once the other run is done
            raise self.retry(countdown=60) from None
        return None  # the running sync covers what this incremental would have done
    except errors.VoxTransientError as exc:
        # A 429 or our own budget says when to come back; each page is committed, so the retry
        # (or the next beat) picks up where this one stopped.
        raise self.retry(exc=exc, countdown=errors.retry_delay(exc, self.request.retries)) from None
    return {"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged,
            "requests": summary.requests, "pages": summary.pages}

