"""Issue 10, point 4 (the worker side): a worker survives its broker being killed and restarted.

The issue saw `Unrecoverable error: AttributeError("'NoneType' object has no attribute 'hostname'")`
while the worker restored its unacknowledged messages, twice out of twice: it takes a message the
worker holds unacknowledged when Redis goes (a task waiting for its countdown, or one running with
acks_late). The Redis here is the test's own, started again empty, as a Redis without persistence
comes back.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client

from tests.webhooks.conftest import call_data, deliver, event
from voxdash.webhooks.models import WebhookEvent
from voxdash.webhooks.tasks import process_webhook_event

from .events import applied, store_events

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("pool", ["threads", "prefork"])  # prefork: production's pool
def test_worker_survives_the_broker_killed_and_restarted(start_worker, start_beat, own_redis, pool):
    worker = start_worker(pool=pool, concurrency=2)
    [held] = store_events(1, prefix="held", enqueue=False)
    # Reserved by the worker, unacknowledged, until its countdown is over: what it must restore.
    process_webhook_event.apply_async((held,), countdown=300)
    worker.wait_for(lambda: " received" in worker.log(), what="the countdown task reserved")

    own_redis.kill()
    worker.wait_for(lambda: "Connection to broker lost" in worker.log(), what="the worker to notice")
    # Vox delivers while Redis is down: the receiver stores the event and still says 200.
    delivered = event("vox.call.started", call_data("call_during_outage"))
    assert deliver(Client(raise_request_exception=False), delivered).status_code == 200
    [during] = WebhookEvent.objects.filter(event_id=delivered["id"]).values_list("pk", flat=True)
    time.sleep(1)  # gone long enough for a reconnect attempt to be refused
    own_redis.start()

    # After it reconnects, the worker takes new work (a webhook stored now, enqueued as usual).
    pks = store_events(3, prefix="after")
    worker.wait_for(lambda: applied(pks) == 3, timeout=40, what="events sent after the restart applied")
    assert worker.process.poll() is None, worker.log()[-3000:]
    assert "Unrecoverable error" not in worker.log()

    # The held message went with Redis's data, and the delivery during the outage was never
    # queued: both are still pending, and the sweep applies them.
    start_beat()
    worker.wait_for(
        lambda: applied([held, during]) == 2,
        timeout=30,
        what="the held event and the one delivered during the outage applied by the sweep",
    )
