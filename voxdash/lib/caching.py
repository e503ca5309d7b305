"""Read the cache or fetch, the one rule behind every short-lived shared answer: the history's
list cache, the mirror's counts, the connection status, the overview's today, the directory's
listings and the stats page's past days.

The cache is a saving, never a dependency. The default backend (`voxdash.lib.cache.
FallbackRedisCache`) already answers from process memory while Redis is down; a cache configured
without it (a plain Redis) raises instead, and then the value is fetched and not kept, so a page
still answers. A failed fetch raises and keeps nothing: a failure is no answer to share.

A value every page reads (the header's connection status, the history's pickers) may also be
kept in the process's own memory for a few seconds (`kept_here`): a round trip to Redis is
0.1-0.2 ms on a quiet machine and several on a busy one, on every page, for an answer that
changes once a minute. What another process stores reaches this one within those seconds.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping

from django.core.cache import cache

from voxdash.lib.cache import OUTAGE_ERRORS

logger = logging.getLogger(__name__)

_MISSING = object()  # the cache's "no such key", since None and 0 are answers worth keeping

# key -> (time.time() it was kept, until when it holds, value): the process's own copies
# (kept_here). The wall clock, like the cache backends' own expiry (and so a test's moved clock
# moves both); a clock set back makes a copy look kept in the future, and then it is dropped.
# Shared by the process's threads; only a few keys ever use it, so it needs no bound.
_here: dict[str, tuple[float, float, object]] = {}
_here_lock = threading.Lock()


def cache_key(prefix: str, params: dict) -> str:
    """One key per set of parameters, whatever their order (None means unset and is left out)."""
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] is not None)
    return prefix + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def cached_or_fetch[T](
    key: str,
    seconds: float | Callable[[T], float],
    fetch: Callable[[], T],
    *,
    refresh: bool = False,
    kept_here: float = 0,
) -> T:
    """The value cached under `key`, else `fetch()`, kept for everyone for `seconds`.

    `seconds` is a number, or a function of the fetched value (an error answer may deserve a
    shorter life); 0 keeps nothing, and a fixed 0 skips the cache altogether. `refresh` fetches
    even when a value is cached, and keeps the new one. `kept_here`: the value found or fetched is
    also kept in this process for that many seconds (a fetched one never longer than the lifetime
    it is stored with; a found one may outlive the shared copy by as much), and read from there
    first.
    """
    if not callable(seconds) and seconds <= 0:
        return fetch()
    if not refresh:
        value = _read_here(key) if kept_here > 0 else _MISSING
        if value is not _MISSING:
            return value
        value = _get_many([key]).get(key, _MISSING)
        if value is not _MISSING:
            if kept_here > 0:
                _keep_here(key, value, kept_here)
            return value
    value = fetch()
    lifetime = seconds(value) if callable(seconds) else seconds
    if lifetime > 0:
        _set_many({key: value}, lifetime)
        if kept_here > 0:
            _keep_here(key, value, min(kept_here, lifetime))
    else:
        _forget_here(key)  # an answer not worth keeping replaces the kept one here too
    return value


def cached_forget(key: str) -> None:
    """Drop the value cached under `key`, for everyone and from this process's own copy: what it
    counted has changed. Other processes' own copies (kept_here) live out their few seconds."""
    _forget_here(key)
    try:
        cache.delete(key)
    except OUTAGE_ERRORS as exc:
        logger.warning("cache unreachable, not forgetting", extra={"fields": {"error": type(exc).__name__}})


def forget_here() -> None:
    """Drop every value this process keeps (kept_here). For tests: another process's view."""
    with _here_lock:
        _here.clear()


def _read_here(key: str):
    kept = _here.get(key)
    if kept is None or not kept[0] <= time.time() < kept[1]:
        return _MISSING
    return kept[2]


def _keep_here(key: str, value, seconds: float) -> None:
    now = time.time()
    with _here_lock:
        _here[key] = (now, now + seconds, value)


def _forget_here(key: str) -> None:
    with _here_lock:
        _here.pop(key, None)


def cached_or_fetch_many[K: Hashable, T](
    keys: Mapping[K, str | None], seconds: float, fetch: Callable[[list[K]], Mapping[K, T]]
) -> dict[K, T]:
    """Each item's value: cached under its key, else from one `fetch(missing items)` call (which
    may return more than asked) and kept for `seconds`. An item whose key is None is always
    fetched and never kept (today's figures, while past days are cached)."""
    cached = {}
    if seconds > 0:
        found = _get_many([key for key in keys.values() if key is not None])
        cached = {item: found[key] for item, key in keys.items() if key is not None and key in found}
    missing = [item for item in keys if item not in cached]
    if not missing:
        return cached
    fresh = fetch(missing)
    if seconds > 0:
        keep = {keys[item]: fresh[item] for item in missing if keys[item] is not None}
        if keep:
            _set_many(keep, seconds)
    return {**cached, **{item: fresh[item] for item in missing}}


def _get_many(keys: list[str]) -> dict:
    try:
        return cache.get_many(keys) if keys else {}
    except OUTAGE_ERRORS as exc:
        logger.warning("cache unreachable, fetching instead", extra={"fields": {"error": type(exc).__name__}})
        return {}


def _set_many(values: dict, seconds: float) -> None:
    try:
        cache.set_many(values, seconds)
    except OUTAGE_ERRORS as exc:
        logger.warning(
            "cache unreachable, not keeping the answer", extra={"fields": {"error": type(exc).__name__}}
        )
