"""Celery tasks: thin wrappers that run a sync service and own only the retry policy."""

from celery import shared_task

from voxdash import sweep
from voxdash.mirror.lock import SyncAlreadyRunning
from voxdash.vox import errors

from .sync import calls_sync_for_message


@shared_task(bind=True, max_retries=5, acks_late=True)
def sync_calls(self, full: bool = False) -> dict | None:
    try:
        summary = calls_sync_for_message(full=full, message_id=self.request.id)
    except SyncAlreadyRunning:
        # The nightly full must still happen: try again once the other (incremental) run is done.
        raise self.retry(countdown=60) from None
    except errors.VoxTransientError as exc:
        # A 429 or our own budget says when to come back; each page is committed, so the retry
        # (or the next beat) picks up where this one stopped.
        raise self.retry(exc=exc, countdown=errors.retry_delay(exc, self.request.retries)) from None
    if summary is None:
        return None
    return {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "requests": summary.requests,
        "pages": summary.pages,
    }


# Beat, every VOXDASH_SWEEP_EVERY seconds: a full sync whose worker was killed mid-walk is queued
# again, and resumes from its recorded page. No retries: the next run is the retry.
@shared_task(ignore_result=True)
def sweep_full_sync() -> bool:
    if not sweep.calls_full_sync_claim_stalled():
        return False
    sync_calls.delay(full=True)
    return True
