"""Asking a worker to send new notices once the transaction that wrote them commits.

Its own module so that the direction stays one way: notify (the service) announces the deliveries
it wrote with a signal; apps.py connects this; this queues the task; the task runs the service.
Beat's "send-alert-deliveries" sends whatever a lost message or a down broker left behind.
"""

from __future__ import annotations

import logging

from django.db import transaction

from .tasks import alert_deliveries_send

logger = logging.getLogger("voxdash.alerts")


def alert_deliveries_request(**kwargs) -> None:
    """Queue a sending run after commit (a receiver of notify.deliveries_created)."""
    transaction.on_commit(_queue)


def _queue() -> None:
    try:
        alert_deliveries_send.delay()
    except Exception as exc:  # kombu and redis raise many types; beat sends them anyway
        logger.warning("alert deliveries not queued: the broker is unreachable (%s)", type(exc).__name__)
