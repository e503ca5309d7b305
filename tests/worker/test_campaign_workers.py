"""Campaigns on real workers (Celery on Redis, beat, the webhook receiver on a live server, the
simulator's own lifecycle): a worker SIGKILLed mid-send and another started, two workers at once.
Whatever happens, the simulator dials each row once and every row reaches a final state."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from tests.campaigns.dispatching import campaign_keys, campaign_ready, phone
from tests.fixtures.celery_worker import running_beat
from vox_simulator import Simulator, keys
from voxdash.campaigns.models import IN_FLIGHT_ROW_STATES, OPEN_ROW_STATES, CampaignRow
from voxdash.campaigns.tasks import campaigns_dispatch
from voxdash.vox import reset_client

from .conftest import SWEEP_ENV

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
FAST_BACKOFF = (0.05, 0.1, 0.2, 0.4, 0.8)
OUTCOMES = ("completed", "completed", "busy", "completed", "no_answer", "failed")


@pytest.fixture
def sim(live_server, settings):
    """The simulator moving its calls along every 0.2 s and sending their webhooks to the receiver."""
    with Simulator(
        port=0,
        seed=1,
        calls=10,
        lifecycle_step_seconds=0.2,
        rate_limit=None,
        webhook_url=live_server.url + "/webhooks/vox/",
        webhook_secret=settings.VOX_WEBHOOK_SECRET,
        webhook_backoff=FAST_BACKOFF,
    ) as simulator:
        settings.VOX_API_BASE_URL = simulator.base_url
        settings.VOX_API_KEY = keys.DEMO_KEY
        reset_client()
        yield simulator
    reset_client()


def worker_env(sim: Simulator) -> dict[str, str]:
    return {
        "VOX_API_BASE_URL": sim.base_url,
        "VOX_API_KEY": keys.DEMO_KEY,
        "VOX_REQUESTS_PER_MINUTE": "0",
        # Short timeouts make a short lease (running.dial_lease: 2 x (1 + 3) + 1 + 5 = 14 s), so
        # a dead worker's rows are sent again within seconds; a POST still has 3 s to answer.
        "VOX_CONNECT_TIMEOUT": "1",
        "VOX_READ_TIMEOUT": "3",
        "VOX_MAX_RETRIES": "1",
        "VOX_MAX_RETRY_WAIT": "1",
        "VOXDASH_CAMPAIGN_DISPATCH_EVERY": "1",
        "VOX_SYNC_CALLS_EVERY": "3600",  # outcomes come from the webhooks here
        "VOX_SYNC_DIRECTORY_EVERY": "3600",
        "VOX_STATS_CACHE_SECONDS": "0",
    }


def open_rows(campaign) -> int:
    return CampaignRow.objects.filter(campaign=campaign, state__in=OPEN_ROW_STATES).count()


def assert_each_row_dialled_once(sim: Simulator, campaign, rows: int) -> None:
    stats = sim.stats()
    ours = {p: n for p, n in stats["dialed_by_phone"].items() if p.startswith("+23480")}
    assert len(ours) == rows and set(ours.values()) == {1}, ours
    keys_sent = campaign_keys(campaign)
    assert len(keys_sent) == rows
    assert Counter({k: stats["dialed_by_key"].get(k, 0) for k in keys_sent}) == Counter(
        dict.fromkeys(keys_sent, 1)
    )
    final = Counter(CampaignRow.objects.filter(campaign=campaign).values_list("state", flat=True))
    assert not set(final) & set(OPEN_ROW_STATES), final


def test_a_worker_killed_mid_send_and_another_started_dials_every_row_exactly_once(
    start_worker, own_redis, sim, tmp_path, caller
):
    rows = 10
    campaign = campaign_ready(
        sim, phones=[phone(i, OUTCOMES[i % len(OUTCOMES)]) for i in range(rows)], user=caller, max_in_flight=3
    )
    sim.faults.processing_ms = 1500  # each POST takes 1.5 s: the kill lands inside one
    env = worker_env(sim)
    first = start_worker(extra_env=env)
    with running_beat(tmp_path, broker_url=own_redis.url, extra_env={**SWEEP_ENV, **env}):
        campaigns_dispatch.delay()

        def mid_send() -> bool:
            stats = sim.stats()
            return (
                stats["dialed"] >= 2
                and stats["requests_by_route"].get("POST /v1/vox/calls", 0) > stats["dialed"]
            )

        first.wait_for(mid_send, timeout=30, what="a POST in progress after two dials")
        first.kill()
        sim.faults.processing_ms = 100

        second = start_worker(extra_env=env)
        second.wait_for(lambda: open_rows(campaign) == 0, timeout=90, what="every row settled")

    assert_each_row_dialled_once(sim, campaign, rows)
    # The POST cut off by the kill reached Vox, was sent again with its key and answered as a replay.
    assert sim.stats()["replayed"] >= 1
    assert "Traceback" not in second.log()


def test_two_workers_at_once_never_exceed_max_in_flight_nor_dial_a_row_twice(
    start_worker, own_redis, sim, tmp_path, caller
):
    rows, limit = 30, 4
    campaign = campaign_ready(
        sim,
        phones=[phone(i, OUTCOMES[i % len(OUTCOMES)]) for i in range(rows)],
        user=caller,
        max_in_flight=limit,
    )
    sim.faults.processing_ms = 50  # sends overlap between the workers
    env = worker_env(sim)
    # Each worker a host of its own (its own folder, so its own dispatch lock): runs at once.
    workers = [
        start_worker(extra_env={**env, "VOXDASH_VAR_DIR": str(tmp_path / f"host-{n}")}, purge=n == 0)
        for n in range(2)
    ]
    highest = {"rows": 0, "calls": 0}
    done = threading.Event()

    def watch() -> None:
        try:
            while not done.is_set():
                counted = CampaignRow.objects.filter(
                    campaign=campaign, state__in=IN_FLIGHT_ROW_STATES
                ).count()
                live = sum(
                    1
                    for c in sim.store.all_calls()
                    if c.customer_phone.startswith("+23480") and not c.terminal
                )
                highest["rows"], highest["calls"] = max(highest["rows"], counted), max(highest["calls"], live)
                time.sleep(0.01)
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with running_beat(tmp_path, broker_url=own_redis.url, extra_env={**SWEEP_ENV, **env}):
            for _ in range(4):
                campaigns_dispatch.delay()
            workers[0].wait_for(lambda: open_rows(campaign) == 0, timeout=120, what="every row settled")
    finally:
        done.set()
        watcher.join(10)

    assert_each_row_dialled_once(sim, campaign, rows)
    assert 0 < highest["rows"] <= limit and 0 < highest["calls"] <= limit, highest
    for worker in workers:  # both took part
        assert "voxdash.campaigns.tasks.campaigns_dispatch" in worker.log()
        assert "Traceback" not in worker.log()
