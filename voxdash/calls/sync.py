"""The mirror's sync: copy Vox's call list into `Call`, page by page. Plain functions (services).

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

Webhooks know things the list does not (the recording, the failure reason, when the status
changed), and may be newer than a list page read a moment ago. So the sync never writes
`recording_url`, `failure_reason` or `status_at`, never replaces a terminal status by a
non-terminal one, and never replaces a known time or duration by null.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min
from django.dispatch import Signal
from django.utils import timezone

from voxdash.vox import VoxClient, get_client, types
from voxdash.vox.budget import BACKGROUND
from voxdash.vox.types import TERMINAL_STATUSES

from .models import Call, SyncState

logger = logging.getLogger(__name__)

PAGE_SIZE = types.MAX_PAGE_SIZE
PROGRESS_SECONDS = 86_400

# Sent after each committed page with `created` and `updated` (lists of Vox call ids), so other
# apps (placements: linking a placed call to its listed call) can react without the sync knowing them.
calls_mirrored = Signal()

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
# What the list tells us; everything else on Call belongs to webhooks or to Django.
LISTED_FIELDS = (
    "business_id",
    "direction",
    "status",
    "customer_phone",
    "customer_name",
    "duration_seconds",
    "started_at",
    "ended_at",
    "created_at",
    "raw",
)
# Facts that only grow: a null from the list never erases one.
_KEPT_WHEN_NULL = ("duration_seconds", "started_at", "ended_at")


@dataclass
class SyncSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    requests: int = 0  # list requests made (a request the client retried counts once)
    pages: int = 0
    total_pages: int | None = None  # as the API last said
    full: bool = False

    @property
    def seen(self) -> int:
        return self.created + self.updated + self.unchanged

    def add(self, outcomes: Sequence[str]) -> None:
        self.created += outcomes.count(CREATED)
        self.updated += outcomes.count(UPDATED)
        self.unchanged += outcomes.count(UNCHANGED)


class SyncAlreadyRunning(Exception):
    """Another process holds the sync's lock; its run covers what this one would do."""


# --- the lock and the progress record, both in the shared cache
def _lock_key(name: str) -> str:
    return f"voxdash:sync:{name}:lock"


def _progress_key(name: str) -> str:
    return f"voxdash:sync:{name}:progress"


class _Lock:
    def __init__(self, key: str, token: str):
        self.key, self.token = key, token

    def refresh(self) -> None:
        # The lock expires VOX_SYNC_LOCK_SECONDS after the last page, not after the start: a long
        # full sync keeps it, a killed one frees it soon.
        cache.touch(self.key, settings.VOX_SYNC_LOCK_SECONDS)


@contextmanager
def sync_lock(name: str) -> Iterator[_Lock]:
    key, token = _lock_key(name), uuid.uuid4().hex
    # `add` is atomic (SET NX on Redis): exactly one process gets the lock.
    if not cache.add(key, token, timeout=settings.VOX_SYNC_LOCK_SECONDS):
        raise SyncAlreadyRunning(f"A {name} sync is already running.")
    try:
        yield _Lock(key, token)
    finally:
        # Only our own lock: if ours expired and another run took it, that one is not ours to free.
        if cache.get(key) == token:
            cache.delete(key)


def sync_is_running(name: str) -> bool:
    return cache.get(_lock_key(name)) is not None


def sync_progress(name: str) -> dict | None:
    """The last run's progress as the sync reported it: state, counts, pages, times, error."""
    return cache.get(_progress_key(name))


def report_progress(name: str, state: str, summary: SyncSummary | None = None, **extra) -> None:
    """Record progress in the cache, where any web process can show it (the "Sync now" panel)."""
    record = dict(sync_progress(name) or {}) if state != "queued" else {}
    record.update(state=state, updated_at=timezone.now().isoformat(), **extra)
    if summary is not None:
        record.update(asdict(summary))
    cache.set(_progress_key(name), record, PROGRESS_SECONDS)


@contextmanager
def sync_run(name: str, summary: SyncSummary) -> Iterator[tuple[SyncState, _Lock]]:
    """Lock, mark started, and record how the run ended (also when it is killed by an exception)."""
    with sync_lock(name) as lock:
        state, _ = SyncState.objects.get_or_create(name=name)
        state.last_started_at = timezone.now()
        state.save(update_fields=["last_started_at"])
        report_progress(name, "running", summary, started_at=state.last_started_at.isoformat(), error="")
        try:
            yield state, lock
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}"
            SyncState.objects.filter(pk=state.pk).update(last_error=message[:2000])
            report_progress(name, "failed", summary, error=message, finished_at=timezone.now().isoformat())
            raise
        state.last_finished_at = timezone.now()
        state.last_error = ""
        state.save(update_fields=["last_finished_at", "last_error", "watermark", "full_next_page",
                                  "full_watermark", "last_full_at", "last_page_at"])
        report_progress(name, "done", summary, finished_at=state.last_finished_at.isoformat())


# --- calls
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
    logger.info("calls sync done: %s", summary)
    return summary


def _after_page(summary: SyncSummary, lock: _Lock, progress) -> None:
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
        summary.add(store_calls(result.calls, state=state, state_fields=["full_next_page", "full_watermark"]))
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
        outcomes = store_calls(result.calls, state=state)
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


def _listed_values(call: types.Call) -> dict:
    # Cut to the columns' sizes (as the webhook path does): one odd row from Vox must not make
    # PostgreSQL refuse the whole page, and with it every later sync.
    duration = call.duration_seconds
    return {
        "business_id": (call.business_id or "")[:64],
        "direction": call.direction[:16],
        "status": call.status[:32],
        "customer_phone": call.customer_phone[:32],
        "customer_name": (call.customer_name or "")[:200],
        "duration_seconds": duration if duration is None or duration >= 0 else None,
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "created_at": call.created_at,
        "raw": dict(call.raw),
    }


def merge_listed(stored: dict | None, call: types.Call) -> dict:
    """The values to store for a listed call, given what the mirror holds (None: nothing)."""
    values = _listed_values(call)
    if stored is None:
        return values
    if stored["status"] in TERMINAL_STATUSES and call.status not in TERMINAL_STATUSES:
        # A webhook (or an earlier page) already saw this call end; this list row is older news.
        for name in ("status", *_KEPT_WHEN_NULL):
            values[name] = stored[name]
    for name in _KEPT_WHEN_NULL:
        if values[name] is None:
            values[name] = stored[name]
    return values


def store_calls(
    calls: Sequence[types.Call], *, state: SyncState | None = None, state_fields: Sequence[str] = ()
) -> list[str]:
    """Upsert one page in one transaction; the outcome (created/updated/unchanged) of each call.

    Reads the stored rows first (locked, so a webhook's update waits for this page rather than
    being overwritten by it), merges in Python, then writes only what changed: new rows with
    INSERT … ON CONFLICT DO NOTHING (a row a webhook inserted a moment ago wins, the next sync
    merges into it) and changed rows with one INSERT … ON CONFLICT DO UPDATE.
    """
    outcomes: list[str] = []
    new: dict[str, Call] = {}
    changed: dict[str, Call] = {}
    with transaction.atomic():
        stored = {
            row["vox_id"]: row
            for row in Call.objects.select_for_update()
            .filter(vox_id__in=[c.id for c in calls])
            .values("vox_id", *LISTED_FIELDS)
        }
        for call in calls:
            if call.id in new or call.id in changed:  # the same call twice on one page: first wins
                outcomes.append(UNCHANGED)
                continue
            old = stored.get(call.id)
            values = merge_listed(old, call)
            if old is None:
                new[call.id] = Call(vox_id=call.id, **values)
                outcomes.append(CREATED)
            elif all(values[name] == old[name] for name in LISTED_FIELDS):
                outcomes.append(UNCHANGED)
            else:
                changed[call.id] = Call(vox_id=call.id, **values)
                outcomes.append(UPDATED)
        if new:
            Call.objects.bulk_create(new.values(), ignore_conflicts=True)
        if changed:
            Call.objects.bulk_create(
                changed.values(),
                update_conflicts=True,
                unique_fields=["vox_id"],
                update_fields=[*LISTED_FIELDS, "last_seen_at"],
            )
        if state is not None:
            state.last_page_at = timezone.now()
            state.save(update_fields=["last_page_at", *state_fields])
    if new or changed:
        calls_mirrored.send(sender=Call, created=list(new), updated=list(changed))
    return outcomes


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


NOT_QUEUED = "The task queue is unreachable, so no sync was queued; the scheduled sync runs once it is back"


def _queue_sync() -> None:
    from .tasks import sync_calls  # imports Celery's app: only when a sync is really asked for

    try:
        sync_calls.delay()
    except Exception as exc:  # kombu and redis raise many types; the page must answer, not 500
        logger.warning("sync not queued: the broker is unreachable (%s)", type(exc).__name__)
        report_progress("calls", "not_queued", error=NOT_QUEUED)
