"""A stored webhook is acknowledged with 2xx however the broker fails, and the push fails fast.

A Redis of the test's own (never 127.0.0.1:6379): it works, then freezes (SIGSTOP: the kernel still
accepts connections, nothing answers; a hung or swapping Redis), then dies (SIGKILL).
"""

import logging
import threading
import time
import uuid

import pytest
from django.db import connection
from django.test import Client

from tests.fixtures.celery_worker import _point_app_at
from voxdash.webhooks.models import WebhookEvent

from .conftest import call_data, deliver, event

# transaction=True: the receiver's on_commit push then runs inside the request, as in production.
pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# Generous on a shared 2-core machine; without the timeouts in settings a frozen Redis held the
# request forever (kombu's socket_timeout defaults to None).
ANSWER_WITHIN = 15.0


@pytest.fixture
def broker(own_redis):
    """own_redis (tests/fixtures/redis_server.py) as this process's Celery broker, on a queue of its own."""
    queue = f"voxdash-tests-{uuid.uuid4().hex[:12]}"
    old_broker, old_queue = _point_app_at(own_redis.url, queue)
    try:
        yield own_redis, queue
    finally:
        _point_app_at(old_broker, old_queue)


def _timed_delivery(payload) -> tuple[int | None, float]:
    """Deliver in a thread, so a push that hangs fails the test instead of hanging it."""
    result: list = []
    started = time.monotonic()

    def post():
        try:
            result.append(deliver(Client(raise_request_exception=False), payload).status_code)
        finally:
            connection.close()  # this thread's own; left open it would block dropping the test database

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    thread.join(ANSWER_WITHIN)
    return (result[0] if result else None), time.monotonic() - started


def test_stored_event_is_acknowledged_when_the_broker_freezes_or_dies(broker, caplog):
    server, queue = broker
    client = server.client()
    events = [event("vox.call.started", call_data(f"call_{n}")) for n in range(3)]

    status, _ = _timed_delivery(events[0])
    assert status == 200 and client.llen(queue) == 1  # the real push, while Redis works

    server.freeze()
    with caplog.at_level(logging.WARNING, logger="voxdash.webhooks"):
        status, took = _timed_delivery(events[1])
    assert status == 200, f"frozen broker: {status} after {took:.1f} s"
    assert "stored but not queued" in caplog.text

    server.kill()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="voxdash.webhooks"):
        status, took = _timed_delivery(events[2])
    assert status == 200, f"dead broker: {status} after {took:.1f} s"
    assert "stored but not queued" in caplog.text

    # All three are stored; the two not queued wait, pending, for the sweep.
    stored = {e.event_id: e.outcome for e in WebhookEvent.objects.all()}
    assert stored == {e["id"]: WebhookEvent.Outcome.PENDING for e in events}
