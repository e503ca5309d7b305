"""Sending stored events to the workers. Its own module so the direction stays one way:
views → queue → tasks → services (the receiving service takes `webhook_event_enqueue` as a callable)."""

from __future__ import annotations

import logging

from .tasks import process_webhook_event

logger = logging.getLogger("voxdash.webhooks")


def webhook_event_enqueue(event_pk: int) -> None:
    """Send a stored event to the workers; a broker failure is logged, never raised.

    The event is committed, so the delivery is ours: the sender gets its 2xx (a 5xx would only make
    Vox send it again), and the sweep of pending events applies it once the broker is back.
    """
    try:
        process_webhook_event.delay(event_pk)
    except Exception as exc:  # kombu/redis raise many types; none may undo the acknowledgement
        logger.warning(
            "webhook event %s stored but not queued (%s); the pending sweep will apply it",
            event_pk,
            type(exc).__name__,
        )
