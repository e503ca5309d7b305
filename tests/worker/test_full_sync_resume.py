"""Issue 10, point 3: a full sync killed mid-walk is resumed by the sweep, not 61 minutes later.

Each page commits with the next page number (SyncState.full_next_page), so a resumed walk reads
only what is left. The killed worker's message waits in Redis for the visibility timeout; the sweep
must see the walk stopped (no page for longer than its age, no sync lock held) and queue it again.
"""

from __future__ import annotations

import pytest

from vox_simulator import Simulator, keys
from voxdash.calls.models import Call, SyncState
from voxdash.calls.tasks import sync_calls

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CALLS = 500  # five pages of 100


@pytest.fixture
def slow_vox():
    sim = Simulator(port=0, seed=1, calls=CALLS, lifecycle_step_seconds=None, rate_limit=None)
    sim.faults.latency_ms = 400  # each page takes a while, so the walk is killed in its middle
    sim.start()
    yield sim
    sim.stop()


def list_requests(sim: Simulator) -> int:
    return sim.stats()["requests_by_route"].get("GET /v1/vox/calls", 0)


def test_full_sync_killed_mid_walk_is_resumed_by_the_sweep(start_worker, start_beat, slow_vox, own_redis):
    # The workers share one cache, as in production: the sync lock the killed worker held lives
    # on for VOX_SYNC_LOCK_SECONDS after its last page, and the sweep must wait for it.
    env = {
        "VOX_API_BASE_URL": slow_vox.base_url,
        "VOX_API_KEY": keys.DEMO_KEY,
        "VOX_SYNC_LOCK_SECONDS": "2",
        "VOXDASH_TEST_CACHE_URL": own_redis.url.replace("/0", "/1"),
    }
    options = {"extra_env": env, "concurrency": 1, "settings_module": "tests.worker.shared_cache_settings"}
    first = start_worker(**options)
    original = sync_calls.delay(full=True)

    def walked_two_pages() -> bool:
        return SyncState.objects.filter(name="calls", full_next_page__gte=3).exists()

    first.wait_for(walked_two_pages, timeout=30, what="two pages of the full sync")
    first.kill()
    state = SyncState.objects.get(name="calls")
    stopped_at = state.full_next_page
    assert stopped_at is not None and state.last_full_at is None
    assert Call.objects.count() < CALLS
    before = list_requests(slow_vox)

    second = start_worker(**options)
    start_beat()

    def finished() -> bool:
        state = SyncState.objects.get(name="calls")
        return state.last_full_at is not None and state.full_next_page is None

    second.wait_for(finished, timeout=40, what="the full sync resumed and finished")
    assert Call.objects.count() == CALLS
    # Resumed where it stopped: the pages left (and the one in flight when killed), not page 1 again.
    assert list_requests(slow_vox) - before <= CALLS // 100 - stopped_at + 2

    # The killed worker's own message comes back after the visibility timeout (same task id): its
    # walk is done, so it must not walk the whole history again from page 1.
    finished_at = SyncState.objects.get(name="calls").last_full_at
    after = list_requests(slow_vox)
    copy = sync_calls.apply_async(kwargs={"full": True}, task_id=original.id)
    second.wait_for(lambda: f"{copy.id}] succeeded" in second.log(), what="the redelivered copy")
    assert list_requests(slow_vox) == after
    assert SyncState.objects.get(name="calls").last_full_at == finished_at
