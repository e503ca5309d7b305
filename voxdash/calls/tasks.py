"""Celery tasks: thin wrappers that run a sync service and own only the retry policy."""

import logging

from celery import shared_task
from django.core.cache import cache

from voxdash import sweep
from voxdash.mirror.lock import SyncAlreadyRunning
from voxdash.vox import errors

from .models import SyncState
from .sync import calls_sync

logger = logging.getLogger(__name__)

# A full sync's message may run more than once: Redis delivers it again after the visibility
# timeout when its worker was killed (by then the sweep has resumed and finished the walk), or
# when it outlived that timeout, and retries keep its task id. So the cache remembers which task
# started the walk under way, and, for a while, the task ids of walks that were finished: a copy
# of one then returns instead of walking the whole history again from page 1. Without the marks
# (cache cleared or down) a copy walks again: wasteful, never wrong.
FULL_WALK_STARTER = "voxdash:tasks:sync-calls-full:starter"
FULL_WALK_DONE = "voxdash:tasks:sync-calls-full:done:"
FULL_WALK_MEMORY = 2 * 86_400


@shared_task(bind=True, max_retries=5, acks_late=True)
def sync_calls(self, full: bool = False) -> dict | None:
    task_id = self.request.id
    if full and task_id and cache.get(FULL_WALK_DONE + task_id):
        return None
    walk_under_way = full and SyncState.objects.filter(name="calls", full_next_page__isnull=False).exists()
    if full and task_id and not walk_under_way:
        cache.set(FULL_WALK_STARTER, task_id, FULL_WALK_MEMORY)
    try:
        summary = calls_sync(full=full)
    except SyncAlreadyRunning:
        if full and not walk_under_way:
            # The nightly full must still happen: try again once the other (incremental) run is done.
            raise self.retry(countdown=60) from None
        # An incremental is covered by the running sync. So is a full while a full walk is under
        # way: this is then a second copy of it (redelivered while the first still runs, or queued
        # by the sweep).
        return None
    except errors.VoxTransientError as exc:
        # A 429 or our own budget says when to come back; each page is committed, so the retry
        # (or the next beat) picks up where this one stopped.
        raise self.retry(exc=exc, countdown=errors.retry_delay(exc, self.request.retries)) from None
    if full:
        finished = {cache.get(FULL_WALK_STARTER), task_id} - {None}
        cache.set_many({FULL_WALK_DONE + done: 1 for done in finished}, FULL_WALK_MEMORY)
    return {"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged,
            "requests": summary.requests, "pages": summary.pages}


# Beat, every VOXDASH_SWEEP_EVERY seconds: a full sync whose worker was killed mid-walk is queued
# again, and resumes from its recorded page. No retries: the next run is the retry.
@shared_task(ignore_result=True)
def sweep_full_sync() -> bool:
    if not sweep.calls_full_sync_claim_stalled():
        return False
    sync_calls.delay(full=True)
    return True
