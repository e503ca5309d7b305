"""The sweep: durable work a lost queue message left behind is claimed to be queued again.

Work that matters is written to the database before its message is queued: a webhook event is
stored `pending`, a full sync commits its next page with each page (SyncState.full_next_page).
The message is only a nudge, and nudges get lost: a worker SIGKILLed holds its reserved messages
unacknowledged in Redis for the visibility timeout; a killed pool child's message is acknowledged
(task_reject_on_worker_lost is off, see settings); a Redis restarted empty has none; a push after
commit may fail while Redis is down. Beat runs the sweep every VOXDASH_SWEEP_EVERY seconds, and
work left longer than VOXDASH_SWEEP_AFTER_SECONDS is nudged again.

A second nudge is harmless: processing an event takes its row lock and skips an event whose
outcome is recorded; a full sync takes the sync lock and resumes from its page. What the sweep
must not do is flood a queue that is only slow: each run claims at most VOXDASH_SWEEP_BATCH
events, and an event (or the sync) claimed once is not claimed again within the age.

One module for both apps because it is one rule (what counts as stranded, how old, how many, not
twice within the age); each app's task sends its own messages (webhooks.tasks, calls.tasks).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from voxdash.calls.models import SyncState
from voxdash.mirror.lock import sync_is_running
from voxdash.webhooks.models import WebhookEvent

CLAIM_PREFIX = "voxdash:sweep:"


def _age() -> timedelta:
    return timedelta(seconds=settings.VOXDASH_SWEEP_AFTER_SECONDS)


def _claim_timeout() -> int:
    # A claim lasts one age: work nudged now and still not done after that is nudged again.
    return max(1, settings.VOXDASH_SWEEP_AFTER_SECONDS)


def webhook_events_claim_stranded(*, limit: int | None = None) -> list[int]:
    """Pending events older than the age and not claimed within it, oldest first; now claimed.

    Only `pending`: a `failed` event either failed for good (bad data) or is being retried by
    its task's own retry policy.
    """
    limit = settings.VOXDASH_SWEEP_BATCH if limit is None else limit
    cutoff = timezone.now() - _age()
    # Read a few more than the batch: the oldest may be claimed already (queued, waiting their
    # turn), and the ones behind them deserve their nudge too.
    candidates = list(
        WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.PENDING, received_at__lt=cutoff)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[: limit * 3]
    )
    keys = {pk: f"{CLAIM_PREFIX}webhook:{pk}" for pk in candidates}
    claimed = cache.get_many(list(keys.values()))
    stranded = [pk for pk in candidates if keys[pk] not in claimed][:limit]
    cache.set_many({keys[pk]: 1 for pk in stranded}, timeout=_claim_timeout())
    return stranded


def calls_full_sync_claim_stalled() -> bool:
    """True (and claimed) when a full call sync stopped mid-walk and nothing is running it.

    Stopped: a next page is recorded, no page was committed for longer than the age, and the
    sync lock is free (a killed run's lock frees itself VOX_SYNC_LOCK_SECONDS after its last
    page; a live run waiting for budget still holds it).
    """
    cutoff = timezone.now() - _age()
    stalled = (
        SyncState.objects.filter(name="calls", full_next_page__isnull=False)
        .filter(Q(last_page_at__lt=cutoff) | Q(last_page_at__isnull=True))
        .exists()
    )
    if not stalled or sync_is_running("calls"):
        return False
    # `add` is atomic: two sweeps at once (two beats by mistake) claim it once.
    return bool(cache.add(f"{CLAIM_PREFIX}calls-full", 1, timeout=_claim_timeout()))
