"""The sync task in a real Celery worker process, on real Redis, against the test database.

The shared `celery_worker` fixture (tests/fixtures/celery_worker.py) starts one worker per session
with the environment of that moment, so it cannot know this test's simulator URL. This module
starts its own worker the same way (same helpers), with the simulator's URL and key in its env.
"""

import os
import subprocess
import sys
import uuid

import pytest

from tests.fixtures.celery_worker import ROOT, Worker, _database_url, _point_app_at, _purge, _redis_or_skip
from voxdash.simulator import Simulator, keys

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("VOXDASH_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture(scope="module")
def module_simulator():
    sim = Simulator(port=0, seed=1, calls=300, lifecycle_step_seconds=None)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def sync_worker(module_simulator, django_db_setup, django_db_blocker, tmp_path_factory):
    redis = _redis_or_skip(REDIS_URL)
    with django_db_blocker.unblock():
        database_url = _database_url()
    queue = f"voxdash-sync-tests-{uuid.uuid4().hex[:12]}"
    _purge(redis, queue)
    log_path = tmp_path_factory.mktemp("celery-sync") / "worker.log"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=REDIS_URL,
        VOX_API_BASE_URL=module_simulator.base_url,
        VOX_API_KEY=keys.DEMO_KEY,
        PYTHONUNBUFFERED="1",
    )
    command = [
        sys.executable, "-m", "celery", "-A", "voxdash", "worker", "--pool", "threads",
        "--concurrency", "2", "--queues", queue, "--hostname", f"{queue}@%h", "--loglevel", "INFO",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    worker = Worker(REDIS_URL, queue, log_path, process)
    try:
        worker.wait_for(lambda: " ready." in worker.log(), timeout=30, what="the Celery worker to start")
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _purge(redis, queue)


@pytest.fixture
def sending_to(sync_worker, transactional_db):
    old = _point_app_at(sync_worker.broker_url, sync_worker.queue)
    yield sync_worker
    _point_app_at(*old)


def test_sync_tasks_run_in_a_real_worker(sending_to, module_simulator):
    from voxdash.calls.models import Call, SyncState
    from voxdash.calls.tasks import sync_calls
    from voxdash.directory.models import Agent
    from voxdash.directory.tasks import sync_directory

    worker = sending_to
    sync_calls.delay(full=True)
    sync_directory.delay()
    worker.wait_for(lambda: Call.objects.count() == 300, what="the full sync")
    worker.wait_for(lambda: Agent.objects.count() == 4, what="the directory sync")
    worker.wait_for(
        lambda: SyncState.objects.filter(name="calls", last_finished_at__isnull=False).exists(),
        what="the sync to finish",
    )

    # Calls still in progress end; the next incremental run (as beat would send) picks that up.
    live = Call.objects.filter(status__in=["queued", "ringing", "in_progress"])
    pending = list(live.values_list("vox_id", "status"))
    module_simulator.advance()
    sync_calls.delay()
    worker.wait_for(
        lambda: all(Call.objects.get(vox_id=v).status != s for v, s in pending), what="the incremental sync"
    )
    assert "Traceback" not in worker.log()
