"""Asking the workers for a dispatch run: after start and resume (views) and when calls that are
campaign attempts change in the mirror (apps.py).

Its own module so that the direction stays one way: views → queue → tasks → running.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from voxdash.placements.models import PlacedCall

from .tasks import campaigns_dispatch

logger = logging.getLogger(__name__)

# Outcomes arrive a webhook at a time (thousands for a big campaign): the first of a burst
# queues a run this many seconds later, and the outcomes that arrive meanwhile ask for nothing
# more: that run, starting after them, collects them all.
OUTCOME_DEBOUNCE_SECONDS = 1
_DEBOUNCE_KEY = "voxdash:campaigns:dispatch-requested"


def campaigns_dispatch_request() -> None:
    """Queue a dispatch run once the current transaction commits (a campaign was started or
    resumed: dial now, not at beat's next tick)."""
    transaction.on_commit(_queue)


def campaigns_dispatch_for_calls(call_ids: list[str]) -> bool:
    """Queue a run if any of these mirrored calls is a campaign attempt; whether it was queued."""
    if not call_ids:
        return False
    ours = Q(listed_call_id__in=call_ids) | Q(vox_placement_id__in=call_ids)
    if not PlacedCall.objects.filter(ours, origin=PlacedCall.Origin.CAMPAIGN).exists():
        return False
    if not cache.add(_DEBOUNCE_KEY, 1, timeout=OUTCOME_DEBOUNCE_SECONDS):
        return False  # a run is already due to start after this outcome; it collects it
    transaction.on_commit(lambda: _queue(countdown=OUTCOME_DEBOUNCE_SECONDS))
    return True


def _queue(countdown: float = 0) -> None:
    try:
        campaigns_dispatch.apply_async(countdown=countdown or None)
    except Exception as exc:  # kombu and redis raise many types; beat runs the dispatcher anyway
        logger.warning("campaign dispatch not queued: the broker is unreachable (%s)", type(exc).__name__)
