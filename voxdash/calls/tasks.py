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
    except errors.VoxRateLimited as exc:  # Vox's 429 or our own budget: come back when told
        raise self.retry(exc=exc, countdown=_countdown(exc, self.request.retries)) from None
    except errors.VoxTransientError as exc:
        # Each page is committed, so a retry (or the next beat) picks up where this one stopped.
        raise self.retry(exc=exc, countdown=_countdown(exc, self.request.retries)) from None
    return {"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged,
            "requests": summary.requests, "pages": summary.pages}


def _countdown(exc: errors.VoxError, retries: int) -> float:
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return max(1.0, retry_after)
    return min(300.0, 15.0 * 2**retries)
