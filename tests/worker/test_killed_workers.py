"""Issue 10, point 3: a killed worker, or a killed pool child, must not strand webhook events.

With acks_late a SIGKILLed worker's reserved messages wait in Redis for the visibility timeout,
and a killed pool child's message is acknowledged (task_reject_on_worker_lost is off), so the
event stays pending: the periodic sweep must apply it within its age once a worker is running.
The database lock held by the test keeps the worker busy with the batch when it is killed.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from voxdash.webhooks.models import WebhookEvent
from voxdash.webhooks.tasks import process_webhook_event

from .events import applied, pending, store_events

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# The sweep's age in the workers' environment (conftest.SWEEP_ENV) plus room for a slow machine.
RECOVERY_TIMEOUT = 2 + 25


def test_worker_killed_mid_batch_every_event_applied_by_the_sweep(start_worker, start_beat):
    first = start_worker(concurrency=4)
    pks = store_events(12, enqueue=False)
    with transaction.atomic():
        # Hold the events' rows (on SQLite: the write lock), so the worker's threads take up a
        # batch and wait inside it; then kill the worker with that batch reserved.
        list(WebhookEvent.objects.select_for_update().filter(pk__in=pks))
        for pk in pks:
            process_webhook_event.delay(pk)
        first.wait_for(lambda: first.log().count(" received") >= 4, what="the worker to take a batch")
        time.sleep(0.3)
        first.kill()
    assert pending(pks) == 12

    second = start_worker()
    start_beat()
    second.wait_for(lambda: applied(pks) == 12, timeout=RECOVERY_TIMEOUT, what="every event applied")
    assert "Traceback" not in second.log()


def test_pool_child_killed_while_processing_its_event_is_applied_by_the_sweep(start_worker, start_beat):
    # The out-of-memory case: the kernel kills the pool process, the worker itself lives on.
    worker = start_worker(pool="prefork", concurrency=1)
    worker.wait_for(lambda: len(worker.pool_children()) == 1, what="the pool child")
    [child] = worker.pool_children()
    [pk] = store_events(1, prefix="oom", enqueue=False)
    with transaction.atomic():
        list(WebhookEvent.objects.select_for_update().filter(pk=pk))
        process_webhook_event.delay(pk)
        worker.wait_for(lambda: waits_for_the_database(child), what="the child to take the job")
        os.kill(child, signal.SIGKILL)
        worker.wait_for(lambda: "WorkerLostError" in worker.log(), what="the worker to see its child die")
    start_beat()
    worker.wait_for(lambda: applied([pk]) == 1, timeout=RECOVERY_TIMEOUT, what="the event applied")
    assert worker.process.poll() is None


def waits_for_the_database(pid: int) -> bool:
    """Whether process `pid` is inside its task: waiting for the lock this test holds."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Inside a transaction the statistics views keep their first snapshot: take a fresh one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] > 0
    # SQLite: a pool child opens the database file only when a task runs (Celery closes the
    # connections a child inherits), so an open file is a task waiting for the write lock.
    database = str(connection.settings_dict["NAME"])
    fds = Path(f"/proc/{pid}/fd")
    return any(_target(fd) == database for fd in fds.iterdir())


def _target(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except FileNotFoundError:
        return ""
