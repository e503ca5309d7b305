"""The sync task in a real Celery worker process, on real Redis, against the test database.

The shared `celery_worker` fixture starts one worker per session with the environment of that
moment, so it cannot know this test's simulator URL: this module runs its own, with the
simulator's URL and key in its environment.
"""

import pytest

from tests.fixtures.celery_worker import _database_url, _point_app_at, running_worker
from vox_simulator import Simulator, keys

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def module_simulator():
    sim = Simulator(port=0, seed=1, calls=300, lifecycle_step_seconds=None)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def sync_worker(module_simulator, django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        database_url = _database_url()
    extra_env = {"VOX_API_BASE_URL": module_simulator.base_url, "VOX_API_KEY": keys.DEMO_KEY}
    log_dir = tmp_path_factory.mktemp("celery-sync")
    with running_worker(database_url, log_dir, extra_env=extra_env, concurrency=2) as worker:
        yield worker


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
