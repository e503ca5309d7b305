"""Celery tasks for the directory: thin, as in voxdash.calls.tasks."""

from celery import shared_task

from voxdash.mirror.lock import SyncAlreadyRunning
from voxdash.vox import errors

from .sync import directory_sync


@shared_task(bind=True, max_retries=3, acks_late=True)
def sync_directory(self) -> dict | None:
    try:
        summary = directory_sync()
    except SyncAlreadyRunning:
        return None
    except errors.VoxTransientError as exc:
        raise self.retry(exc=exc, countdown=errors.retry_delay(exc, self.request.retries)) from None
    return {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "requests": summary.requests,
    }
