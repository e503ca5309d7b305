"""The shared cache's Redis client (voxdash.lib.cache): one redis-py client per connection pool.

Django's RedisCache builds a new redis.Redis for every cache call, and redis-py fills its response
callbacks in each: as long as the round trip itself. A page makes several cache calls (the
header's connection status, the list cache, the count cache), so that cost is counted here.
Redis going down and coming back is tests/health/test_cache_down.py's.
"""

import pytest
import redis
from django.core.cache import caches

pytestmark = pytest.mark.redis


@pytest.fixture
def shared_cache(settings, own_redis):
    settings.CACHES = {
        "default": {"BACKEND": "voxdash.lib.cache.FallbackRedisCache", "LOCATION": own_redis.url}
    }
    return caches["default"]


def test_cache_calls_reuse_one_redis_client(shared_cache, monkeypatch):
    built = []
    original = redis.Redis.__init__

    def counting_init(self, *args, **kwargs):
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting_init)
    shared_cache.set("voxdash:test:a", {"n": 1}, 30)
    for _ in range(10):
        assert shared_cache.get("voxdash:test:a") == {"n": 1}
        assert shared_cache.get_many(["voxdash:test:a", "voxdash:test:b"]) == {"voxdash:test:a": {"n": 1}}
        assert shared_cache.add("voxdash:test:counter", 0, 30) in (True, False)
        shared_cache.incr("voxdash:test:counter")
    assert shared_cache.get("voxdash:test:counter") == 10
    assert len(built) == 1  # Django's own client would build one a call (41)
