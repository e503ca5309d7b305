"""The machinery every sync shares: its summary, its progress record, its SyncState, one run at a time.

`calls.sync` and `directory.sync` walk the API; each wraps its walk in `sync_run(name, summary)` and
hands the pages to the mirror's writers (`mirror.calls`, `mirror.directory`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from django.core.cache import cache
from django.utils import timezone

from voxdash.calls.models import SyncState

from .lock import Lock, sync_lock

PROGRESS_SECONDS = 86_400

# What a write did to each row it was handed.
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


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


# --- the progress record, in the shared cache where any web process can show it
def _progress_key(name: str) -> str:
    return f"voxdash:sync:{name}:progress"


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
def sync_run(name: str, summary: SyncSummary) -> Iterator[tuple[SyncState, Lock]]:
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
        state.save(
            update_fields=[
                "last_finished_at",
                "last_error",
                "watermark",
                "full_next_page",
                "full_watermark",
                "last_full_at",
                "last_page_at",
            ]
        )
        report_progress(name, "done", summary, finished_at=state.last_finished_at.isoformat())
