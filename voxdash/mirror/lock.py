"""One run at a time across every process: a lock in the shared cache that only its holder frees.

Taking it is `cache.add` (SET NX on Redis). Freeing it must not free a lock that is no longer ours:
ours expires VOX_SYNC_LOCK_SECONDS after its last refresh, and by then another run may hold the key.
Reading the key and then deleting it leaves a gap in which that can happen, so on Redis the check
and the delete are one Lua script (atomic on the server). The file and local-memory caches (the
demo, the tests) have no such command: there the holder deletes only a lock that is still its own
and that its last refresh keeps alive for at least another RELEASE_MARGIN seconds, far longer than
the read and the delete take; a lock that close to expiring is left to expire. While the shared
cache's Redis is down (`voxdash.lib.cache.FallbackRedisCache` then answers from memory) the lock
cannot be reached at all: it is left to expire by itself.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# KEYS[1]: the lock's key; ARGV[1]: our token as the cache stored it; ARGV[2]: milliseconds.
# Release when ARGV[2] is 0, else refresh. Either only while the key still holds our token.
_IF_OURS = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then return redis.call('del', KEYS[1]) end
return redis.call('pexpire', KEYS[1], ARGV[2])
"""

RELEASE_MARGIN = 0.5  # seconds; a file cache reads and deletes in milliseconds


class SyncAlreadyRunning(Exception):
    """Another process holds the sync's lock; its run covers what this one would do."""


def lock_key(name: str) -> str:
    return f"voxdash:sync:{name}:lock"


class Lock:
    def __init__(self, key: str, token: str, taken_at: float):
        self.key, self.token = key, token
        # By the cache's own clock (time.time), never later than when the lock really expires.
        self._alive_until = taken_at + settings.VOX_SYNC_LOCK_SECONDS

    def refresh(self) -> None:
        # The lock expires VOX_SYNC_LOCK_SECONDS after the last page, not after the start: a long
        # full sync keeps it, a killed one frees it soon.
        if self._by_script(settings.VOX_SYNC_LOCK_SECONDS * 1000):
            return
        refreshed_at = time.time()
        if cache.touch(self.key, settings.VOX_SYNC_LOCK_SECONDS):
            self._alive_until = refreshed_at + settings.VOX_SYNC_LOCK_SECONDS

    def release(self) -> None:
        if self._by_script(0):
            return
        # Still ours now means ours all along (a token is never reused), so the last refresh was
        # ours and the lock lives until at least _alive_until: the delete below cannot reach a
        # lock another run took after ours expired.
        if cache.get(self.key) == self.token and time.time() < self._alive_until - RELEASE_MARGIN:
            cache.delete(self.key)

    def _by_script(self, milliseconds: int) -> bool:
        """Run the compare-and-act script when the cache is Redis; False when it is not."""
        backend = caches["default"]
        if not isinstance(backend, RedisCache):
            return False
        outage = getattr(backend, "outage", None)  # FallbackRedisCache's breaker: no wait per page
        if outage is not None and outage() is not None:
            return True  # the lock is on the unreachable Redis: it expires by itself
        key = backend.make_and_validate_key(self.key)
        # Django's Redis cache has no compare-and-delete, so the script goes through its own client
        # and serializer (the token is compared as the cache stored it).
        client = backend._cache
        try:
            client.get_client(key, write=True).eval(
                _IF_OURS, 1, key, client._serializer.dumps(self.token), milliseconds
            )
        except redis.RedisError as exc:  # Redis down: the lock expires by itself
            logger.warning(
                "sync lock %s not reached (%s); it expires by itself", self.key, type(exc).__name__
            )
            if outage is not None:
                # One public call through the breaker, which records the outage: later pages skip
                # Redis at once instead of each waiting for a connect timeout.
                backend.has_key(self.key)
        return True


@contextmanager
def sync_lock(name: str) -> Iterator[Lock]:
    key, token, taken_at = lock_key(name), uuid.uuid4().hex, time.time()
    # `add` is atomic (SET NX on Redis): exactly one process gets the lock.
    if not cache.add(key, token, timeout=settings.VOX_SYNC_LOCK_SECONDS):
        raise SyncAlreadyRunning(f"A {name} sync is already running.")
    lock = Lock(key, token, taken_at)
    try:
        yield lock
    finally:
        lock.release()


def sync_is_running(name: str) -> bool:
    return cache.get(lock_key(name)) is not None
