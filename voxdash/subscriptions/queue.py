"""Asking a worker to send an event's deliveries once they are committed (emit announces them on
commit); beat's "send-event-deliveries" sends what a lost message or a down broker left behind."""

from __future__ import annotations

import logging

from .tasks import event_deliveries_send

logger = logging.getLogger("voxdash.subscriptions")


def event_deliveries_request(**kwargs) -> None:
    try:
        event_deliveries_send.delay()
    except Exception as exc:  # kombu and redis raise many types; beat sends them anyway
        logger.warning("event deliveries not queued: the broker is unreachable (%s)", type(exc).__name__)
