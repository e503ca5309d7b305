"""Workers killed, pool children killed, the broker killed: the fixtures those tests share.

Each test gets a redis-server of its own on a free port (`own_redis`, tests/fixtures/redis_server.py): it can be killed and
restarted, and the tasks a worker sends itself (beat's sweep, the sweep's re-enqueues) go to the
default queue "celery" without meeting anyone else's. Workers get short sweep ages in their
environment, so recovery is seen in seconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from tests.fixtures.celery_worker import Worker, _database_url, _point_app_at, running_beat, running_worker

# What every worker here runs with: sweep stranded work after 2 s, look every second.
SWEEP_ENV = {
    "VOXDASH_SWEEP_AFTER_SECONDS": "2",
    "VOXDASH_SWEEP_EVERY": "1",
    "VOX_SYNC_FULL_AT": "",  # no nightly full sync from the embedded beat
}


@pytest.fixture
def start_worker(own_redis, transactional_db, tmp_path) -> Iterator[Callable[..., Worker]]:
    """start_worker(**options) -> a running worker on `own_redis`, stopped after the test.

    This process's Celery app sends to the same broker and queue, so `task.delay()` reaches it.
    """
    database_url = _database_url()
    old = _point_app_at(own_redis.url, "celery")
    with contextlib.ExitStack() as stack:
        count = 0

        def start(*, extra_env: dict[str, str] | None = None, **options) -> Worker:
            nonlocal count
            count += 1
            # Only the first starts empty: later ones find what the killed one left queued.
            options.setdefault("purge", count == 1)
            env = {**SWEEP_ENV, **(extra_env or {})}
            return stack.enter_context(
                running_worker(
                    database_url,
                    tmp_path,
                    broker_url=own_redis.url,
                    queue="celery",
                    extra_env=env,
                    log_name=f"worker-{count}.log",
                    **options,
                )
            )

        try:
            yield start
        finally:
            _point_app_at(*old)


@pytest.fixture
def start_beat(own_redis, tmp_path) -> Iterator[Callable[[], Worker]]:
    """start_beat() -> a beat process of its own, sending the sweep to `own_redis` every second."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(
            running_beat(tmp_path, broker_url=own_redis.url, extra_env=SWEEP_ENV)
        )
