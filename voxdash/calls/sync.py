"""The call sync: walk Vox's call list, page by page, and hand each page to the mirror (services).

Vox has no "updated since" filter and no endpoint for one call, so the only way to learn about a
call is to list again, newest first. Two walks:

- full: every page, 100 calls at a time. Each page is upserted and committed together with the
  next page number, so a killed worker loses nothing and `calls_sync(full=True)` resumes there.
- incremental (every minute): from the newest page down to where the mirror is known good (an
  unchanged, terminal call older than the watermark), and further while calls the mirror still
  holds as non-terminal have not been re-read (they may have ended since).

The watermark (`SyncState.watermark`) is the newest `createdAt` at the start of the last walk that
*completed*. A killed walk never moves it, so the next incremental keeps paging past the pages the
killed one committed until it meets calls the last complete walk saw: the next run finishes the job.

What a page may change in a stored call (webhooks may know more, and be newer) is the mirror's
rule, in one table: see `voxdash.mirror`. The lock, progress record and SyncState handling are the
mirror's too (`voxdash.mirror.sync`); "Sync now" queues a run through `calls.queue`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min
from django.utils import timezone

from voxdash.mirror.calls import call_merge_listing
from voxdash.mirror.lock import Lock, SyncAlreadyRunning
from voxdash.mirror.placements import placements_mend
from voxdash.mirror.sync import UNCHANGED, SyncSummary, report_progress, sync_run
from voxdash.vox import VoxClient, get_client, types
from voxdash.vox.budget import BACKGROUND
from voxdash.vox.statuses import TERMINAL_STATUSES

from .models import Call, SyncState

logger = logging.getLogger(__name__)

PAGE_SIZE = types.MAX_PAGE_SIZE


def calls_sync(
    *,
    full: bool = False,
    progress: Callable[[SyncSummary], object] | None = None,
    client: VoxClient | None = None,
) -> SyncSummary:
    """Bring the mirror up to date with Vox's call list. Raises SyncAlreadyRunning or a VoxError.

    `progress` is called with the running summary after each committed page (the management
    command draws its bar with it); raising from it stops the sync like a killed worker would.
    """
    client = client or get_client().using(BACKGROUND)
    summary = SyncSummary(full=full)
    with sync_run("calls", summary) as (state, lock):
        walk = _full_walk if full else _incremental_walk
        walk(client, state, summary, lambda: _after_page(summary, lock, progress))
        if full:  # the placed calls' copy of their calls' keys, checked once the mirror is whole
            mended = placements_mend()
            if mended:
                logger.info("calls sync: %d placed calls took their mirrored call's key again", mended)
    logger.info("calls sync done: %s", summary)
    return summary


def _after_page(summary: SyncSummary, lock: Lock, progress) -> None:
    lock.refresh()
    report_progress("calls", "running", summary)
    if progress is not None:
        progress(summary)


def _fetch(client: VoxClient, page: int, summary: SyncSummary) -> types.CallPage:
    summary.requests += 1
    result = client.list_calls(page=page, limit=PAGE_SIZE)
    summary.total_pages = result.meta.total_pages
    return result


def _full_walk(client: VoxClient, state: SyncState, summary: SyncSummary, after_page) -> None:
    page = state.full_next_page or 1
    if page == 1:
        state.full_watermark = None
    while True:
        result = _fetch(client, page, summary)
        if not result.calls:
            break
        if state.full_watermark is None:
            state.full_watermark = result.calls[0].created_at
        state.full_next_page = result.meta.page + 1
        # The resume point commits with the page it follows: neither is ever saved without the other.
        resume = ["full_next_page", "full_watermark"]
        summary.add(call_merge_listing(result.calls, state=state, state_fields=resume))
        summary.pages += 1
        after_page()
        if not result.meta.has_more:
            break
        page = result.meta.page + 1
    _advance_watermark(state, state.full_watermark)
    state.full_next_page = None
    state.full_watermark = None
    state.last_full_at = timezone.now()


def _incremental_walk(client: VoxClient, state: SyncState, summary: SyncSummary, after_page) -> None:
    watermark = state.watermark
    # Calls the mirror still holds as ringing etc. may have ended: read down to the oldest of them.
    recent = timezone.now() - timedelta(seconds=settings.VOX_SYNC_PENDING_MAX_AGE)
    oldest_pending = (
        Call.objects.filter(created_at__gte=recent)
        .exclude(status__in=TERMINAL_STATUSES)
        .aggregate(oldest=Min("created_at"))["oldest"]
    )
    newest = None
    page = 1
    while True:
        result = _fetch(client, page, summary)
        if not result.calls:
            break
        newest = newest or result.calls[0].created_at
        outcomes = call_merge_listing(result.calls, state=state)
        summary.add(outcomes)
        summary.pages += 1
        after_page()
        # Without a watermark no walk ever completed, so nothing in the mirror can be trusted yet.
        known_ground = watermark is not None and any(
            outcome == UNCHANGED and call.created_at <= watermark and call.status in TERMINAL_STATUSES
            for call, outcome in zip(result.calls, outcomes, strict=True)
        )
        pending_seen = oldest_pending is None or result.calls[-1].created_at <= oldest_pending
        if (known_ground and pending_seen) or not result.meta.has_more:
            break
        page = result.meta.page + 1
    _advance_watermark(state, newest)


def _advance_watermark(state: SyncState, newest) -> None:
    if newest is not None and (state.watermark is None or newest > state.watermark):
        state.watermark = newest


# A full sync's message may run more than once: Redis delivers it again after the visibility
# timeout when its worker was killed (by then the sweep has resumed and finished the walk), or
# when it outlived that timeout, and retries keep its task id. So the cache remembers which message
# started the walk under way, and, for a while, the ids of messages whose walks were finished: a
# copy of one then returns instead of walking the whole history again from page 1. Without the
# marks (cache cleared or down) a copy walks again: wasteful, never wrong.
FULL_WALK_STARTER = "voxdash:tasks:sync-calls-full:starter"
FULL_WALK_DONE = "voxdash:tasks:sync-calls-full:done:"
FULL_WALK_MEMORY = 2 * 86_400


def calls_sync_for_message(*, full: bool, message_id: str | None) -> SyncSummary | None:
    """The sync one queue message asks for; None when another run already covers it.

    Raises SyncAlreadyRunning only for a full sync that must still happen once the running
    (incremental) one is done, and VoxError as `calls_sync` does.
    """
    if full and message_id and cache.get(FULL_WALK_DONE + message_id):
        return None
    walk_under_way = full and SyncState.objects.filter(name="calls", full_next_page__isnull=False).exists()
    if full and message_id and not walk_under_way:
        cache.set(FULL_WALK_STARTER, message_id, FULL_WALK_MEMORY)
    try:
        summary = calls_sync(full=full)
    except SyncAlreadyRunning:
        if full and not walk_under_way:
            raise
        # An incremental is covered by the running sync. So is a full while a full walk is under
        # way: this is then a second copy of it (redelivered while the first still runs, or queued
        # by the sweep).
        return None
    if full:
        finished = {cache.get(FULL_WALK_STARTER), message_id} - {None}
        cache.set_many({FULL_WALK_DONE + done: 1 for done in finished}, FULL_WALK_MEMORY)
    return summary
