"""cached_or_fetch: the one "read the cache or fetch" rule, with the cache up, off and down."""

from datetime import date

import pytest
from django.core.cache import cache

from tests.fixtures.redis_server import free_port
from voxdash.lib import caching
from voxdash.lib.caching import cache_key, cached_or_fetch, cached_or_fetch_many, forget_here


class Fetch:
    """A fetch that counts its calls and answers `value` (or raises it, when it is an exception)."""

    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("value", [{"a": 1}, 0, None, ""])
def test_a_value_is_fetched_once_and_shared(value):
    fetch = Fetch(value)
    assert cached_or_fetch("k", 30, fetch) == value
    assert cached_or_fetch("k", 30, fetch) == value
    assert fetch.calls == 1  # 0, None and "" are answers too, not misses


def test_zero_seconds_skips_the_cache():
    fetch = Fetch(1)
    cached_or_fetch("k", 0, fetch)
    cached_or_fetch("k", 0, fetch)
    assert fetch.calls == 2 and cache.get("k") is None


def test_refresh_fetches_and_keeps_the_new_value():
    cached_or_fetch("k", 30, Fetch("old"))
    assert cached_or_fetch("k", 30, Fetch("new"), refresh=True) == "new"
    assert cached_or_fetch("k", 30, Fetch("unused")) == "new"


def test_a_failed_fetch_keeps_nothing():
    with pytest.raises(ValueError):
        cached_or_fetch("k", 30, Fetch(ValueError("Vox said no")))
    assert cached_or_fetch("k", 30, Fetch("answer")) == "answer"


# --- kept_here: the process's own copy in front of the shared cache
class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(caching.time, "time", clock)
    return clock


def test_a_value_kept_here_is_read_without_the_shared_cache(clock, monkeypatch):
    cached_or_fetch("k", 60, Fetch("first"), kept_here=5)
    cache.set("k", "another process's", 60)  # stored meanwhile by another process
    reads = []
    monkeypatch.setattr(caching, "_get_many", lambda keys: reads.append(keys) or {})
    assert cached_or_fetch("k", 60, Fetch("unused"), kept_here=5) == "first"
    assert reads == []  # no round trip


def test_what_another_process_stored_arrives_once_the_seconds_are_over(clock):
    cached_or_fetch("k", 60, Fetch("first"), kept_here=5)
    cache.set("k", "another process's", 60)
    clock.now += 4.9
    assert cached_or_fetch("k", 60, Fetch("unused"), kept_here=5) == "first"
    clock.now += 0.2
    assert cached_or_fetch("k", 60, Fetch("unused"), kept_here=5) == "another process's"
    cache.set("k", "newer still", 60)
    assert cached_or_fetch("k", 60, Fetch("unused"), kept_here=5) == "another process's"  # kept again


def test_a_clock_set_back_drops_the_copy_here(clock):
    cached_or_fetch("k", 60, Fetch("first"), kept_here=5)
    cache.set("k", "another process's", 60)
    clock.now -= 3600
    assert cached_or_fetch("k", 60, Fetch("unused"), kept_here=5) == "another process's"


def test_kept_here_never_longer_than_the_value_s_own_life(clock):
    cached_or_fetch("k", lambda value: 2, Fetch("short-lived"), kept_here=5)
    clock.now += 2.1
    cache.delete("k")  # the shared cache has let it go too
    assert cached_or_fetch("k", lambda value: 2, Fetch("fresh"), kept_here=5) == "fresh"


def test_refresh_replaces_the_copy_here_and_a_value_not_worth_keeping_drops_it(clock):
    cached_or_fetch("k", 60, Fetch("old"), kept_here=5)
    assert cached_or_fetch("k", 60, Fetch("new"), refresh=True, kept_here=5) == "new"
    assert cached_or_fetch("k", 60, Fetch("unused"), kept_here=5) == "new"

    def kept_for(value):
        return 0 if value == "not worth keeping" else 60

    cached_or_fetch("k", kept_for, Fetch("not worth keeping"), refresh=True, kept_here=5)
    cache.delete("k")
    assert cached_or_fetch("k", kept_for, Fetch("asked again"), kept_here=5) == "asked again"


def test_a_failed_fetch_leaves_nothing_here_either(clock):
    with pytest.raises(ValueError):
        cached_or_fetch("k", 60, Fetch(ValueError("Vox said no")), kept_here=5)
    assert cached_or_fetch("k", 60, Fetch("answer"), kept_here=5) == "answer"
    forget_here()
    cache.delete("k")
    assert cached_or_fetch("k", 60, Fetch("after forget_here"), kept_here=5) == "after forget_here"


def test_the_lifetime_may_depend_on_the_value():
    def kept_for(value):
        return 0 if value == "not worth keeping" else 30

    fetch = Fetch("not worth keeping")
    cached_or_fetch("k", kept_for, fetch)
    cached_or_fetch("k", kept_for, fetch)
    assert fetch.calls == 2
    cached_or_fetch("k", kept_for, Fetch("keep me"))
    assert cached_or_fetch("k", kept_for, Fetch("unused")) == "keep me"


def test_many_fetches_only_the_missing_ones_in_one_call():
    asked = []

    def fetch(missing):
        asked.append(list(missing))
        return {day: f"figures of {day}" for day in missing}

    days = [date(2026, 11, n) for n in (20, 21, 22)]
    keys = {days[0]: "d20", days[1]: "d21", days[2]: None}  # no key: always fetched, never kept
    first = cached_or_fetch_many(keys, 30, fetch)
    again = cached_or_fetch_many(keys, 30, fetch)
    assert first == again == {day: f"figures of {day}" for day in days}
    assert asked == [days, [days[2]]]
    assert cached_or_fetch_many(keys, 0, fetch) == first and asked[-1] == days  # 0: no cache at all


def test_keys_do_not_depend_on_order_and_leave_unset_out():
    assert cache_key("p:", {"a": 1, "b": None, "c": "x"}) == cache_key("p:", {"c": "x", "a": 1})
    assert cache_key("p:", {"a": 1}) != cache_key("p:", {"a": 2}) != cache_key("q:", {"a": 2})


@pytest.mark.parametrize(
    "backend",
    [
        # A plain Redis cache raises when Redis is down: the helper fetches and keeps nothing.
        "django.core.cache.backends.redis.RedisCache",
        # Production's backend answers from process memory instead: the helper still shares the value.
        "voxdash.lib.cache.FallbackRedisCache",
    ],
)
def test_a_cache_that_is_down_never_takes_the_answer_down(settings, backend):
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings.CACHES = {
        "default": {
            "BACKEND": backend,
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1},
        }
    }
    fetch = Fetch("answer")
    assert cached_or_fetch("k", 30, fetch) == "answer"
    assert cached_or_fetch("k", 30, fetch) == "answer"
    assert fetch.calls == (2 if backend.endswith(".RedisCache") else 1)
    assert cached_or_fetch_many({"day": "d"}, 30, lambda missing: {"day": "figures"}) == {"day": "figures"}
