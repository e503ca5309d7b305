"""The sync lock frees only its own holder's lock, on every cache the project runs with.

Real expiry (a one-second lock), a real Redis of the test's own (tests/fixtures/redis_server.py)
behind the project's FallbackRedisCache, the file cache of the demo and the tests' local memory.
"""

import logging
import time

import pytest
from django.core.cache import cache

from voxdash.mirror.lock import SyncAlreadyRunning, lock_key, sync_is_running, sync_lock

FALLBACK = "voxdash.lib.cache.FallbackRedisCache"


@pytest.fixture(params=["locmem", "file", "redis"])
def any_cache(request, settings, tmp_path):
    settings.VOX_SYNC_LOCK_SECONDS = 1
    if request.param == "file":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache"),
            }
        }
    elif request.param == "redis":
        request.applymarker(pytest.mark.redis)
        server = request.getfixturevalue("own_redis")
        settings.CACHES = {"default": {"BACKEND": FALLBACK, "LOCATION": server.url}}
    return request.param


def test_an_expired_and_retaken_lock_is_not_freed_by_its_old_holder(any_cache):
    old = sync_lock("rule")
    old_lock = old.__enter__()
    time.sleep(1.2)  # the old holder stalled past its lock's life (a long page, a paused process)
    assert not sync_is_running("rule")
    with sync_lock("rule") as new_lock:
        old_lock.refresh()  # the old holder wakes up: neither its refresh nor its release is the new one's
        old.__exit__(None, None, None)
        assert cache.get(lock_key("rule")) == new_lock.token
        with pytest.raises(SyncAlreadyRunning), sync_lock("rule"):
            pass
    assert not sync_is_running("rule")  # the new holder freed its own


def test_a_lock_is_freed_by_its_holder_at_once(any_cache, settings):
    settings.VOX_SYNC_LOCK_SECONDS = 60
    with sync_lock("rule") as lock:
        lock.refresh()
        assert sync_is_running("rule")
    assert not sync_is_running("rule")
    with sync_lock("rule"):  # and may be taken again straight away
        pass


@pytest.mark.redis
def test_the_old_holders_refresh_does_not_extend_the_new_lock(settings, own_redis):
    settings.VOX_SYNC_LOCK_SECONDS = 1
    settings.CACHES = {"default": {"BACKEND": FALLBACK, "LOCATION": own_redis.url}}
    old = sync_lock("rule")
    old_lock = old.__enter__()
    time.sleep(1.2)
    with sync_lock("rule"):
        key = cache.make_and_validate_key(lock_key("rule"))
        settings.VOX_SYNC_LOCK_SECONDS = 600
        old_lock.refresh()
        assert own_redis.client().pttl(key) <= 1000
        old.__exit__(None, None, None)


@pytest.mark.redis
def test_redis_gone_while_held_the_lock_is_left_to_expire(settings, own_redis, caplog):
    settings.VOX_SYNC_LOCK_SECONDS = 60
    settings.CACHES = {
        "default": {"BACKEND": FALLBACK, "LOCATION": own_redis.url, "OPTIONS": {"RECHECK_AFTER": 30}}
    }
    with caplog.at_level(logging.WARNING):
        with sync_lock("rule") as lock:
            own_redis.kill()
            started = time.monotonic()
            for _ in range(5):  # pages go on: after the first failure the breaker answers at once
                lock.refresh()
        assert time.monotonic() - started < 2.0
    assert not sync_is_running("rule")
    lines = [r for r in caplog.records if r.name == "voxdash.mirror.lock"]
    assert len(lines) == 1, [
        r.getMessage() for r in lines
    ]  # the process's memory says so, and claims nothing
