"""What the subscriptions keep, and for how long: events with their delivery log, and what each
call was last told as (`CallSeen`), pruned nightly by beat ("prune-events")."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from voxdash.calls.models import Call

from .models import CallSeen, Event, EventDelivery

logger = logging.getLogger("voxdash.subscriptions")
PRUNE_BATCH = 5000
_STILL_SENDING = [EventDelivery.State.PENDING, EventDelivery.State.SENDING, EventDelivery.State.RETRYING]


def events_prune(*, now: datetime | None = None) -> int:
    """Delete the events (and their deliveries) older than VOXDASH_API_RETENTION_DAYS, and what was
    told of calls made before then (0: keep everything); how many events."""
    days = settings.VOXDASH_API_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    # A delivery gives up after a day, so none of these is still sent; were one, it would stay.
    old = Event.objects.filter(created_at__lt=cutoff).exclude(deliveries__state__in=_STILL_SENDING)
    deleted = 0
    while batch := list(old.order_by("created_at", "id").values_list("pk", flat=True)[:PRUNE_BATCH]):
        Event.objects.filter(pk__in=batch).delete()  # their deliveries with them (CASCADE)
        deleted += len(batch)
    # A call older than this is not news (receivers.NEWS_WITHIN is a day): nothing will be told of it.
    CallSeen.objects.filter(vox_id__in=Call.objects.filter(created_at__lt=cutoff).values("vox_id")).delete()
    if deleted:
        logger.info("subscriptions: pruned %s events older than %s days", deleted, days)
    return deleted
