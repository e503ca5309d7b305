"""A stored webhook is acknowledged with 2xx however the broker fails, and the push fails fast.

A Redis of the test's own (never 127.0.0.1:6379): it works, then freezes (SIGSTOP: the kernel still
accepts connections, nothing answers; a hung or swapping Redis), then dies (SIGKILL).
"""

import logging
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest
import redis
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis():
    port = _free_port()
    process = subprocess.Popen(
        ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.02)
    queue = f"voxdash-tests-{uuid.uuid4().hex[:12]}"
    old_broker, old_queue = _point_app_at(url, queue)
    try:
        yield process, client, queue
    finally:
        process.send_signal(signal.SIGCONT)
        process.kill()
        process.wait(10)
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


def test_stored_event_is_acknowledged_when_the_broker_freezes_or_dies(own_redis, caplog):
    process, client, queue = own_redis
    events = [event("vox.call.started", call_data(f"call_{n}")) for n in range(3)]

    status, _ = _timed_delivery(events[0])
    assert status == 200 and client.llen(queue) == 1  # the real push, while Redis works

    process.send_signal(signal.SIGSTOP)
    with caplog.at_level(logging.WARNING, logger="voxdash.webhooks"):
        status, took = _timed_delivery(events[1])
    assert status == 200, f"frozen broker: {status} after {took:.1f} s"
    assert "stored but not queued" in caplog.text

    process.send_signal(signal.SIGCONT)
    process.kill()
    process.wait(10)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="voxdash.webhooks"):
        status, took = _timed_delivery(events[2])
    assert status == 200, f"dead broker: {status} after {took:.1f} s"
    assert "stored but not queued" in caplog.text

    # All three are stored; the two not queued wait, pending, for the sweep.
    stored = {e.event_id: e.outcome for e in WebhookEvent.objects.all()}
    assert stored == {e["id"]: WebhookEvent.Outcome.PENDING for e in events}
