"""The shared cache on Redis, which keeps every page up when Redis is not.

Everything voxdash caches goes through Django's cache: the call-list cache, the connection status,
the login limit, the sync's lock and progress, the stats days. Catching Redis's failures here, once,
keeps all of them working; catching them at each call site would be a dozen copies of one rule.

While Redis is unreachable (a refused or timed-out connection, a read-only replica, out of memory):
- every operation uses a local-memory cache of this process instead, so the login limit still
  counts (per process), and the connection status and list cache still spare Vox requests (per
  process); nothing raises;
- `add()` keeps the value in that memory but answers False: a claim (the sync's "one run at a time"
  lock) is only a claim when every process can see it, so no two processes both get one. Counters
  begun with `add(key, 0)` then `incr()` still count in the process. One exception: allauth's
  rate-limit locks (LOCAL_CLAIMS) are claimed locally, because what they guard, the hit history
  beside them, is then in the same local memory too; refused, allauth would answer every sign-in
  with "too many attempts" while Redis is down;
- after a failure, Redis is left alone for RECHECK_AFTER seconds (a circuit breaker), so a page
  costs a dictionary lookup, not a socket timeout per cache call;
- one WARNING when the outage starts and one INFO line when Redis answers again, per process,
  however many calls failed in between. The process's memory copy is dropped then: Redis is the
  truth again.

One redis-py client per connection pool (`_ClientPerPool`), where Django makes a new one for each
cache call: redis-py fills ~170 response callbacks in every `Redis()`, which cost a page about as
much as the round trip itself (0.1–0.2 ms each call, measured on the history page's header).

Sockets time out quickly (connect 0.25 s, read 0.5 s): Redis answers a LAN request in well under a
millisecond, and a hung one must not hold a page for redis-py's default 5 s per call. Both can be
overridden in CACHES' OPTIONS, like any redis-py connection option; RECHECK_AFTER is ours.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils import timezone

logger = logging.getLogger(__name__)

# Failures of the server or the way to it. Not ResponseError in general: a wrong command (incr of a
# pickled value) is a bug to see, not an outage to hide.
OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, redis.OutOfMemoryError)
RECHECK_AFTER = 5.0  # seconds between attempts while Redis is down
SOCKET_OPTIONS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}
LOCAL_ENTRIES = 1000  # the process's stand-in stays small: it only has to last an outage
# Keys whose add() is a real claim in local memory during an outage (see the docstring): allauth's
# rate limits lock "allauth:rl:<app>:<action>:<rate>:<who>:lock" around their local history.
LOCAL_CLAIMS = ("allauth:rl:",)


@dataclass(frozen=True)
class CacheOutage:
    since: datetime
    error: str  # the exception's class name: never its message, which may carry the URL's password
    retry_at: float  # time.monotonic() after which Redis is tried again


# Per process, shared by its threads: Django gives each thread its own backend instance, but an
# outage is the server's, so one thread's failure spares the others the wait. Keyed by LOCATION.
_outages: dict[str, CacheOutage] = {}
_lock = threading.Lock()


class _ClientPerPool(RedisCacheClient):
    """Django's Redis cache client, reusing one redis.Redis per connection pool. Safe to share:
    a redis.Redis holds no connection of its own, each command takes one from the pool (and
    Django gives each thread its own cache backend, hence its own pools, anyway)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class FallbackRedisCache(RedisCache):
    def __init__(self, server, params):
        options = {**SOCKET_OPTIONS, **params.get("OPTIONS", {})}
        self.recheck_after = float(options.pop("RECHECK_AFTER", RECHECK_AFTER))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = _ClientPerPool
        self._location = server if isinstance(server, str) else ",".join(server)
        # Same key prefix, version and default timeout as Redis; LocMemCache instances with one
        # name share their storage, so the process has one stand-in, not one per thread.
        self._local = LocMemCache(
            f"voxdash-fallback:{self._location}",
            {**params, "OPTIONS": {"MAX_ENTRIES": LOCAL_ENTRIES}},
        )

    def outage(self) -> CacheOutage | None:
        """The current outage as this process knows it. No network round trip while Redis is up;
        during an outage, once the retry is due, this is the retry (so a banner never lags behind)."""
        outage = _outages.get(self._location)
        if outage is not None and time.monotonic() >= outage.retry_at:
            self._either("has_key", "voxdash:cache:probe", None)
            outage = _outages.get(self._location)
        return outage

    def _either(self, operation: str, *args, locally: Callable | None = None):
        """Run the operation on Redis unless it is known to be down; on an outage, locally."""
        locally = locally or getattr(self._local, operation)
        outage = _outages.get(self._location)
        if outage is not None and time.monotonic() < outage.retry_at:
            return locally(*args)
        try:
            result = getattr(RedisCache, operation)(self, *args)
        except OUTAGE_ERRORS as exc:
            self._went_down(exc)
            return locally(*args)
        if outage is not None:
            self._came_back(outage)
        return result

    def _went_down(self, exc: Exception) -> None:
        retry_at = time.monotonic() + self.recheck_after
        with _lock:
            known = _outages.get(self._location)
            _outages[self._location] = CacheOutage(
                since=known.since if known else timezone.now(),
                error=type(exc).__name__,
                retry_at=retry_at,
            )
        if known is None:
            logger.warning(
                "shared cache unreachable: using this process's memory, retrying every %.0f s",
                self.recheck_after,
                extra={"fields": {"error": type(exc).__name__}},
            )

    def _came_back(self, outage: CacheOutage) -> None:
        with _lock:
            if _outages.get(self._location) is not outage:
                return  # another thread saw it first (or a newer failure replaced it)
            del _outages[self._location]
        self._local.clear()
        logger.info(
            "shared cache reachable again",
            extra={
                "fields": {
                    "down_seconds": round((timezone.now() - outage.since).total_seconds(), 1),
                }
            },
        )

    # --- Django's cache API, each operation through _either
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("add", key, value, timeout, version, locally=self._add_locally)

    def _add_locally(self, key, *args) -> bool:
        added = self._local.add(key, *args)
        # Kept, but never a claim (see the module's docstring), except a lock around local data.
        return added if key.startswith(LOCAL_CLAIMS) else False

    def get(self, key, default=None, version=None):
        return self._either("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._either("delete", key, version)

    def get_many(self, keys, version=None):
        return self._either("get_many", keys, version)

    def has_key(self, key, version=None):
        return self._either("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._either("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._either("delete_many", keys, version)

    def clear(self):
        return self._either("clear")


def shared_cache_outage() -> CacheOutage | None:
    """The default cache's outage as this process knows it; None when it is up (or is not Redis)."""
    outage = getattr(caches["default"], "outage", None)
    return outage() if outage is not None else None
