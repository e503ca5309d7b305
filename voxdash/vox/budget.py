"""The shared request budget: every request to Vox, from any process, takes a token here first.

Vox allows 120 requests a minute per API key, shared by every web process and worker. Hitting
that limit turns pages into banners, so we count our own requests and stop before Vox has to.

The budget is a true sliding log: every admitted request is an entry (a unique id, scored by its
time) in a Redis sorted set, one set per priority. A request is admitted only if, after dropping
the entries older than the window, the window still holds fewer than the allowance, so no true
rolling window ever holds more than `per_minute` of our requests. Pruning, counting, the priority
rules and the insert are one Lua script (EVALSHA: one round trip, atomic across processes), timed
by Redis's own clock so processes on different hosts agree. The window is `margin` seconds longer
than Vox's, because Vox counts a request when it arrives, a little after we admitted it.

Three priorities share it:
- interactive (a page someone is looking at) may use at most
  `per_minute - background_min - placement_reserve`, counting placements too; when that is spent,
  `VoxBudgetExhausted` is raised at once, so the view falls back to the mirror;
- place (the POST that places a call) may use the pages' allowance plus `placement_reserve`,
  which pages never touch: placing is the most valuable request voxdash sends and, unlike a page,
  has no mirror to fall back to, so busy pages alone cannot refuse it while placements stay within
  the reserve. It fails at once too;
- api (voxdash's own API, on behalf of another system) is a page's request behind the pages: it
  draws on the pages' allowance and is kept in their log, but may not use its last `api_reserve`
  requests, so a busy integration can never turn a person's page into a banner (a page that is
  refused has a mirror to fall back to, but a person is waiting on it; the integration can retry).
  It fails at once too;
- background (sync) always gets its `background_min` share, however busy the pages are, and
  beyond it leaves `reserve` tokens to pages and placements; it waits (up to `background_wait`)
  instead of failing.

Conservative start: when the log's "began at" marker is missing (first use, or Redis restarted
empty), the previous window may have been spent by a process we cannot see, so every allowance
grows linearly from one request to its full value over one window from that moment.

`pause(seconds)` holds every process off (Vox answered 429 with Retry-After: someone else uses
the key). `refund(ticket)` removes exactly that ticket's entry (a request that never left the
machine). `used()` counts the window for status pages.

Every refusal (`acquire` raising VoxBudgetExhausted) is counted by minute, so that an alert can say
"the budget has been spent for five minutes" (`refusals(minutes)`): in Redis, one hash per hour
whose fields are its minutes (HINCRBY and EXPIRE; each hour's hash expires by itself, so the
counts never pile up), else in the local log's state. A page's or a placement's refusal is
counted by the take that refused it, in the same script or under the same lock: a refused page
costs no extra round trip (busy pages are refused many times a second, and an extra trip each
measurably slowed the processes sharing the budget). Background work is refused only after
waiting, so its rare refusals are counted on their own; counting never fails the caller (a lost
count is an alert a minute late, not a page broken).

Without Redis the same rules (less the ramp) run on an exact sliding log: kept in a file under
an exclusive lock next to the demo's file cache, so this host's processes share it (`FileLog`),
or in another Django cache, exact within one process only (`CacheLog`; the tests' locmem cache).
When Redis stops answering, each process falls back to a log in its own memory with a small
allowance (`local_per_minute`, default per_minute // 8), logs that once, asks Redis again every
`redis_retry_seconds`, and when it answers adds what it sent meanwhile.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import json
import logging
import math
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .errors import VoxBudgetExhausted

logger = logging.getLogger(__name__)

# Refusals are counted for this long (minutes): the longest "exhausted for N minutes" one can ask.
REFUSALS_KEPT_MINUTES = 24 * 60
REFUSALS_LIFETIME = (REFUSALS_KEPT_MINUTES + 60) * 60  # seconds: an hour's hash outlives its last minute

INTERACTIVE = "interactive"
BACKGROUND = "background"
PLACEMENT = "place"
# Each priority's log is its own sorted set, named after it (the order is the Lua script's KEYS).
PRIORITIES = (INTERACTIVE, BACKGROUND, PLACEMENT)
API = "api"
# Every priority a request may ask for: the API's requests are written in the pages' log (they are
# pages' requests made on another system's behalf), only its allowance is smaller.
ASKED = (*PRIORITIES, API)


def log_of(priority: str) -> str:
    """The log a priority's requests are written in."""
    return INTERACTIVE if priority == API else priority


# Set while voxdash answers its own API (voxdash.api's middleware): whatever that answer asks Vox
# (placing a call, a picker's listing) is another system's request, so it is spent at the API's
# priority instead of a page's or a placement's. Background work stays background.
_FOR_THE_API: contextvars.ContextVar[bool] = contextvars.ContextVar("voxdash_vox_for_the_api", default=False)


@contextlib.contextmanager
def on_behalf_of_the_api() -> Iterator[None]:
    token = _FOR_THE_API.set(True)
    try:
        yield
    finally:
        _FOR_THE_API.reset(token)


def priority_for(priority: str) -> str:
    """The priority a request asked at `priority` is spent at, in this context."""
    if priority in (INTERACTIVE, PLACEMENT) and _FOR_THE_API.get():
        return API
    return priority


# Redis's clock unless the caller passes a time (tests, with a fake clock).
_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS: interactive log, background log, place log, "began at" marker, paused-until, the refusal
# counts' hash of this hour. ARGV: now ('' = Redis's clock), window, per_minute, reserve,
# background_min, priority, entry id, placement_reserve, the minute to count a refusal in ('' =
# do not count it), the counts' lifetime (seconds), api_reserve. Returns {1, now} when admitted, {0, seconds
# to wait} when not. The rule is `_Limits.wait` in Lua.
_TAKE = (
    _NOW
    + """
local window = tonumber(ARGV[2])
local per_minute, reserve, background_min = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local placement_reserve, api_reserve = tonumber(ARGV[8]), tonumber(ARGV[11])
local function refused(wait)
  if ARGV[9] ~= '' then
    redis.call('HINCRBY', KEYS[6], ARGV[9], 1)
    redis.call('EXPIRE', KEYS[6], ARGV[10])
  end
  return {0, tostring(wait)}
end
local paused = tonumber(redis.call('GET', KEYS[5]))
if paused and paused > now then
  return refused(paused - now)
end
local since = tonumber(redis.call('GET', KEYS[4]))
if not since then
  since = now
  redis.call('SET', KEYS[4], tostring(now))
end
local ramp = math.min(1, math.max(0, (now - since) / window))
local function cap(n)
  if n <= 0 then return 0 end
  return math.max(1, math.floor(n * ramp))
end
for i = 1, 3 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window) end
local background = redis.call('ZCARD', KEYS[2])
-- pages and placements draw on one allowance ("front"); placements alone may also use the reserve
local front = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[3])
local total = front + background
-- seconds until the k-th oldest entry of these logs leaves the window (huge if there is none)
local function leaves(keys, k)
  local scores = {}
  for _, key in ipairs(keys) do
    local rows = redis.call('ZRANGE', key, 0, k - 1, 'WITHSCORES')
    for j = 2, #rows, 2 do table.insert(scores, tonumber(rows[j])) end
  end
  table.sort(scores)
  if scores[k] == nil then return math.huge end
  return scores[k] + window - now
end
local all, fronts = {KEYS[1], KEYS[2], KEYS[3]}, {KEYS[1], KEYS[3]}
local wait = 0
local limit = cap(per_minute)
if total >= limit then wait = math.max(wait, leaves(all, total - limit + 1)) end
if ARGV[6] == 'background' then
  local free, share = cap(per_minute - reserve), cap(background_min)
  if total >= free and background >= share then
    wait = math.max(wait, math.min(leaves(all, total - free + 1), leaves({KEYS[2]}, background - share + 1)))
  end
else
  local most = per_minute - background_min
  if ARGV[6] == 'interactive' or ARGV[6] == 'api' then most = most - placement_reserve end
  if ARGV[6] == 'api' then most = most - api_reserve end
  most = cap(most)
  if front >= most then wait = math.max(wait, leaves(fronts, front - most + 1)) end
end
if wait > 0 then
  -- while ramping up, the allowance itself grows by one about every window / per_minute
  if ramp < 1 then wait = math.min(wait, window / per_minute) end
  return refused(wait)
end
local mine = ({interactive = KEYS[1], background = KEYS[2], place = KEYS[3], api = KEYS[1]})[ARGV[6]]
redis.call('ZADD', mine, now, ARGV[7])
-- an idle budget's logs vanish by themselves; the marker stays, so an idle night is no restart
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000)) end
return {1, tostring(now)}
"""
)

# KEYS: every priority's log. ARGV: now, window. Returns the entries in the window.
_COUNT = (
    _NOW
    + """
local oldest = '(' .. tostring(now - tonumber(ARGV[2]))
local n = 0
for _, key in ipairs(KEYS) do n = n + redis.call('ZCOUNT', key, oldest, '+inf') end
return n
"""
)

# KEYS: paused-until. ARGV: now, seconds. Only ever extends a pause.
_PAUSE = (
    _NOW
    + """
local paused_until = now + tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]))
if not current or current < paused_until then
  redis.call('SET', KEYS[1], tostring(paused_until), 'PX', math.ceil(tonumber(ARGV[2]) * 1000))
end
return 1
"""
)


@dataclass(frozen=True)
class Ticket:
    """One admitted request's entry in the log, for `RequestBudget.refund`."""

    id: str
    priority: str
    at: float
    local: bool = False  # taken from this process's own log (no Redis, or Redis was down)


@dataclass(frozen=True)
class _Limits:
    per_minute: int
    reserve: int
    background_min: int
    placement_reserve: int = 0
    api_reserve: int = 0  # of the pages' allowance, never the API's

    def scaled(self, per_minute: int) -> _Limits:
        """The same shares for a smaller allowance (the local fallback's)."""
        return _Limits(
            per_minute,
            self.reserve * per_minute // self.per_minute,
            self.background_min * per_minute // self.per_minute,
            self.placement_reserve * per_minute // self.per_minute,
            self.api_reserve * per_minute // self.per_minute,
        )

    def wait(
        self, priority: str, logs: dict[str, deque[float]], window: float, now: float, ramp: float = 1.0
    ) -> float:
        """Seconds until `priority` may send (0: now), given each priority's times inside the window.

        The same rule as the Lua script `_TAKE`, ramp included (every allowance grows from one to
        full over a window after the log lost sight of what was sent); tests run every priority
        scenario against both."""

        def cap(n: int) -> int:
            return 0 if n <= 0 else max(1, math.floor(n * ramp))

        def leaves(of: Iterable[str], k: int) -> float:
            scores = sorted(s for p in of for s in islice(logs[p], k))
            return scores[k - 1] + window - now if len(scores) >= k else math.inf

        fronts = (INTERACTIVE, PLACEMENT)
        background = len(logs[BACKGROUND])
        front = sum(len(logs[p]) for p in fronts)
        total = front + background
        wait = 0.0
        limit = cap(self.per_minute)
        if total >= limit:
            wait = max(wait, leaves(PRIORITIES, total - limit + 1))
        if priority == BACKGROUND:
            free, share = cap(self.per_minute - self.reserve), cap(self.background_min)
            if total >= free and background >= share:
                wait = max(
                    wait,
                    min(leaves(PRIORITIES, total - free + 1), leaves((BACKGROUND,), background - share + 1)),
                )
        else:
            most = self.per_minute - self.background_min
            if priority in (INTERACTIVE, API):
                most -= self.placement_reserve
            if priority == API:
                most -= self.api_reserve
            most = cap(most)
            if front >= most:
                wait = max(wait, leaves(fronts, front - most + 1))
        if wait and ramp < 1:  # the allowance itself grows by one about every window / per_minute
            wait = min(wait, window / self.per_minute)
        return wait


class LocalLog:
    """An exact sliding log kept in this process's memory (thread-safe). Subclasses keep it
    elsewhere: `_state` loads it before each operation and stores it after."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: dict[str, deque[tuple[float, str]]] = {p: deque() for p in PRIORITIES}
        self._paused_until = 0.0
        # When this log began to stand in for a shared one that went away (Redis down): what the
        # other processes sent in the window before is unknown, so the allowance ramps up over a
        # window from then, as the shared log does after it lost its state. None: no ramp.
        self._blind_since: float | None = None
        self._refusals: dict[int, int] = {}  # minute (time // 60) -> refusals counted in it

    @contextlib.contextmanager
    def _state(self) -> Iterator[None]:
        with self._lock:
            yield

    def _load(self, state: dict) -> None:
        self._logs = {p: deque((t, e) for t, e in state.get(p, ())) for p in PRIORITIES}
        self._paused_until = state.get("paused_until", 0.0)
        # JSON (the file log) makes the minutes strings; the cache keeps them as they were.
        self._refusals = {int(m): n for m, n in state.get("refusals", {}).items()}

    def _dump(self) -> dict:
        return {
            "paused_until": self._paused_until,
            "refusals": self._refusals,
            **{p: list(log) for p, log in self._logs.items()},
        }

    def _prune(self, now: float, window: float) -> None:
        for log in self._logs.values():
            while log and log[0][0] <= now - window:
                log.popleft()

    def take(
        self,
        limits: _Limits,
        priority: str,
        entry_id: str,
        now: float,
        window: float,
        refusal_minute: int | None = None,
    ) -> float:
        """Seconds to wait (0: taken); a refusal is counted in `refusal_minute` unless it is None."""
        with self._state():
            wait = self._take(limits, priority, entry_id, now, window)
            if wait and refusal_minute is not None:
                self._refusal_count(refusal_minute)
            return wait

    def _take(self, limits: _Limits, priority: str, entry_id: str, now: float, window: float) -> float:
        if self._paused_until > now:
            return self._paused_until - now
        self._prune(now, window)
        times = {p: deque(t for t, _ in log) for p, log in self._logs.items()}
        ramp = 1.0 if self._blind_since is None else min(1.0, max(0.0, (now - self._blind_since) / window))
        wait = limits.wait(priority, times, window, now, ramp)
        if not wait:
            self._logs[log_of(priority)].append((now, entry_id))
        return wait

    def remove(self, ticket: Ticket) -> None:
        with self._state():
            try:
                self._logs[ticket.priority].remove((ticket.at, ticket.id))
            except ValueError:
                pass  # already out of the window

    def entries(self, now: float, window: float) -> dict[str, list[tuple[float, str]]]:
        with self._state():
            self._prune(now, window)
            return {p: list(log) for p, log in self._logs.items()}

    def count(self, now: float, window: float) -> int:
        with self._state():
            self._prune(now, window)
            return sum(len(log) for log in self._logs.values())

    def pause(self, until: float) -> None:
        with self._state():
            self._paused_until = max(self._paused_until, until)

    def refusal_add(self, minute: int) -> None:
        with self._state():
            self._refusal_count(minute)

    def _refusal_count(self, minute: int) -> None:
        if minute not in self._refusals:  # a new minute: the oldest may go
            for old in [m for m in self._refusals if m <= minute - REFUSALS_KEPT_MINUTES]:
                del self._refusals[old]
        self._refusals[minute] = self._refusals.get(minute, 0) + 1

    def refusal_counts(self, minutes: list[int]) -> list[int]:
        with self._state():
            return [self._refusals.get(m, 0) for m in minutes]

    def blind_from(self, now: float | None) -> None:
        """Ramp up from `now` (the shared log just went away); None when it is back."""
        with self._state():
            self._blind_since = now


class FileLog(LocalLog):
    """The log in a file under an exclusive lock, so that one host's processes share it without
    Redis (the demo: runserver, the Celery worker and its children on the file cache)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _state(self) -> Iterator[None]:
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with self._lock, open(descriptor, "r+", encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # released when the file closes
            file.seek(0)
            try:
                self._load(json.loads(file.read() or "{}"))
            except ValueError:  # a process killed mid-write: start afresh
                self._load({})
            yield
            file.seek(0)
            file.truncate()
            file.write(json.dumps(self._dump()))  # not json.dump: it streams through the slow encoder


class CacheLog(LocalLog):
    """The log in a Django cache (the tests' locmem cache): it outlives the budget object, as
    a process's log should, and goes with the cache's `clear()`. Exact only within one process."""

    def __init__(self, cache: Any, key: str = "voxdash:vox:budget:log") -> None:
        super().__init__()
        self.cache, self.key = cache, key

    @contextlib.contextmanager
    def _state(self) -> Iterator[None]:
        with self._lock:
            self._load(self.cache.get(self.key) or {})
            yield
            self.cache.set(self.key, self._dump(), timeout=None)


class RequestBudget:
    def __init__(
        self,
        redis_client: redis.Redis | None,
        *,
        per_minute: int = 120,
        reserve: int = 30,
        background_min: int = 20,
        placement_reserve: int = 10,
        api_reserve: int = 20,
        background_wait: float = 120.0,
        window: float = 60.0,
        margin: float = 1.0,
        local_per_minute: int | None = None,
        redis_retry_seconds: float = 5.0,
        local: LocalLog | None = None,
        key_prefix: str = "voxdash:vox:budget",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ):
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1 (use no budget at all to turn it off)")
        # No priority may own the whole bucket: the others must still move (and a small budget,
        # as in tests, works with the default shares). The placement reserve comes out of the
        # pages' allowance, so it is clamped last: pages keep at least one request.
        background_min = max(0, min(background_min, per_minute - 1))
        placement_reserve = max(0, min(placement_reserve, per_minute - background_min - 1))
        self.limits = _Limits(
            per_minute,
            max(0, min(reserve, per_minute - 1)),
            background_min,
            placement_reserve,
            # Out of the pages' allowance in turn: the API keeps at least one request.
            max(0, min(api_reserve, per_minute - background_min - placement_reserve - 1)),
        )
        # Without Redis the local log is the whole budget; with it, only the stopgap of an outage.
        self.local_limits = (
            self.limits
            if redis_client is None
            else self.limits.scaled(max(1, local_per_minute or per_minute // 8))
        )
        self.background_wait = background_wait
        self.window = window + margin
        self.redis = redis_client
        self.redis_retry_seconds = redis_retry_seconds
        self._log_keys = {p: f"{key_prefix}:{p}" for p in PRIORITIES}
        self._keys = [*self._log_keys.values(), f"{key_prefix}:since", f"{key_prefix}:paused"]
        self._refusals_prefix = f"{key_prefix}:refusals"
        self._clock = clock  # None: Redis's clock for the shared log, time.time for the local one
        self._sleep = sleep
        self._local = local if local is not None else LocalLog()
        self._outage_lock = threading.Lock()
        self._redis_down_since: float | None = None  # time.monotonic() of the first failure
        self._redis_retry_at = 0.0
        if redis_client is not None:
            self._take_script = redis_client.register_script(_TAKE)
            self._count_script = redis_client.register_script(_COUNT)
            self._pause_script = redis_client.register_script(_PAUSE)

    @property
    def per_minute(self) -> int:
        return self.limits.per_minute

    def allowance(self, priority: str) -> int:
        """The most `priority` may use in a window (background: beyond its share, if busy;
        pages and placements: together)."""
        if priority not in ASKED:
            raise ValueError(f"unknown priority {priority!r}")
        limits = self.local_limits if self._using_local() else self.limits
        if priority == BACKGROUND:
            return max(limits.per_minute - limits.reserve, limits.background_min)
        most = limits.per_minute - limits.background_min
        if priority == PLACEMENT:
            return most
        pages = most - limits.placement_reserve
        return pages - limits.api_reserve if priority == API else pages

    # --- Redis or the local log
    def _now_arg(self) -> str:
        return "" if self._clock is None else repr(self._clock())

    def _local_now(self) -> float:
        return (self._clock or time.time)()

    def _using_local(self) -> bool:
        return self.redis is None or time.monotonic() < self._redis_retry_at

    def _redis_failed(self, exc: redis.RedisError) -> None:
        with self._outage_lock:
            self._redis_retry_at = time.monotonic() + self.redis_retry_seconds
            if self._redis_down_since is None:
                self._redis_down_since = time.monotonic()
                self._local.blind_from(self._local_now())
                logger.warning(
                    "Redis is not answering (%s: %s); the Vox request budget falls back to %d "
                    "requests a minute in this process until it does.",
                    type(exc).__name__,
                    exc,
                    self.local_limits.per_minute,
                )

    def _redis_answered(self) -> None:
        if self._redis_down_since is None:
            return
        with self._outage_lock:
            down_since, self._redis_down_since = self._redis_down_since, None
        if down_since is not None:  # this thread saw the outage end
            self._local.blind_from(None)
            logger.warning(
                "Redis answers again after %.0f s; the Vox request budget is shared again.",
                time.monotonic() - down_since,
            )
            self._hand_over_local_log()  # outside the lock: a failure here takes it again

    def _hand_over_local_log(self) -> None:
        """Vox saw the requests this process sent during the outage: they count in the shared
        log too, or a Redis that kept its log would admit a window's worth on top of them.
        (Their times are this host's clock; the log's are Redis's: the same host, or NTP.)"""
        entries = self._local.entries(self._local_now(), self.window)
        pipe = self.redis.pipeline(transaction=False)
        for priority, rows in entries.items():
            if rows:
                pipe.zadd(self._log_keys[priority], {entry: at for at, entry in rows})
        try:
            pipe.execute()
        except redis.RedisError as exc:
            self._redis_failed(exc)

    def _take(self, priority: str) -> tuple[Ticket | None, float]:
        """One attempt: (ticket, 0) when admitted, else (None, seconds before asking again)."""
        entry_id = secrets.token_hex(8)
        minute = int(self._local_now() // 60)
        # Pages and placements never wait: a refusal of theirs is final, so the take counts it.
        # Background work may be admitted after waiting; `acquire` counts its final refusal.
        refusal_minute = None if priority == BACKGROUND else minute
        if not self._using_local():
            limits = self.limits
            try:
                admitted, value = self._take_script(
                    keys=[*self._keys, self._refusals_key(minute // 60)],
                    args=[
                        self._now_arg(),
                        self.window,
                        limits.per_minute,
                        limits.reserve,
                        limits.background_min,
                        priority,
                        entry_id,
                        limits.placement_reserve,
                        "" if refusal_minute is None else str(refusal_minute),
                        REFUSALS_LIFETIME,
                        limits.api_reserve,
                    ],
                )
            except redis.RedisError as exc:
                self._redis_failed(exc)
            else:
                self._redis_answered()
                if admitted:
                    return Ticket(entry_id, log_of(priority), float(value)), 0.0
                return None, max(0.01, float(value))
        now = self._local_now()
        wait = self._local.take(self.local_limits, priority, entry_id, now, self.window, refusal_minute)
        if wait:
            return None, max(0.01, wait)
        return Ticket(entry_id, log_of(priority), now, local=True), 0.0

    # --- the interface
    def acquire(self, priority: str = INTERACTIVE) -> Ticket:
        """Take a token or raise VoxBudgetExhausted; background work first waits its turn
        (pages and placements answer someone waiting, so they never wait).

        The ticket names the token, so a request that never left this machine (the connection
        was refused) can give it back with `refund`.
        """
        if priority not in ASKED:
            raise ValueError(f"unknown priority {priority!r}")
        deadline_clock = self._clock or time.monotonic
        deadline = deadline_clock() + (self.background_wait if priority == BACKGROUND else 0.0)
        while True:
            ticket, wait = self._take(priority)
            if ticket is not None:
                return ticket
            if deadline_clock() + wait > deadline:
                if priority == BACKGROUND:
                    self._refusal_record()  # (the others' refusals were counted by their take)
                raise VoxBudgetExhausted(
                    f"The Vox request budget ({self.allowance(priority)}/min for {priority} "
                    "requests) is spent.",
                    retry_after=wait,
                )
            self._sleep(wait)

    def _refusals_key(self, hour: int) -> str:
        return f"{self._refusals_prefix}:{hour}"  # one hash per hour (time // 3600), minutes as fields

    def _refusal_record(self) -> None:
        """Count one background refusal in the minute under way. Never raises (see the module's
        docstring)."""
        minute = int(self._local_now() // 60)
        try:
            if not self._using_local():
                key = self._refusals_key(minute // 60)
                pipe = self.redis.pipeline(transaction=False)
                pipe.hincrby(key, str(minute), 1)
                pipe.expire(key, REFUSALS_LIFETIME)
                try:
                    pipe.execute()
                    return
                except redis.RedisError as exc:
                    self._redis_failed(exc)  # counted here instead, for this process only
            self._local.refusal_add(minute)
        except Exception:  # a full disk under the file log, say: the caller still gets its answer
            logger.warning("a refusal of the Vox request budget could not be counted", exc_info=True)

    def refusals(self, minutes: int) -> list[int]:
        """Refusals counted in each of the last `minutes` whole minutes, oldest first (the minute
        under way is not one of them). Minutes more than REFUSALS_KEPT_MINUTES ago read 0.

        Times are this host's clock (the log's are Redis's): every host counts by its own, which
        NTP keeps within a second of the others'."""
        current = int(self._local_now() // 60)
        wanted = list(range(current - minutes, current))
        kept = [m for m in wanted if m > current - REFUSALS_KEPT_MINUTES]
        padding = [0] * (len(wanted) - len(kept))
        if not kept:
            return padding
        if not self._using_local():
            hours = sorted({m // 60 for m in kept})
            pipe = self.redis.pipeline(transaction=False)
            for hour in hours:
                pipe.hmget(self._refusals_key(hour), [str(m) for m in kept if m // 60 == hour])
            try:
                answers = pipe.execute()
            except redis.RedisError as exc:
                self._redis_failed(exc)
            else:
                values = [int(v or 0) for answer in answers for v in answer]  # hours in order: minutes too
                return padding + values
        return padding + self._local.refusal_counts(kept)

    def refund(self, ticket: Ticket) -> None:
        """Give back a token whose request never reached Vox (it did not count against the key)."""
        if ticket.local:
            self._local.remove(ticket)
            return
        try:
            self.redis.zrem(self._log_keys[ticket.priority], ticket.id)
        except redis.RedisError as exc:
            self._redis_failed(exc)  # the entry leaves the window by itself: only too careful

    def pause(self, seconds: float) -> None:
        """Hold every process off for `seconds` (Vox said 429 with Retry-After)."""
        if seconds <= 0:
            return
        self._local.pause(self._local_now() + seconds)
        if not self._using_local():
            try:
                self._pause_script(keys=[self._keys[-1]], args=[self._now_arg(), seconds])
            except redis.RedisError as exc:
                self._redis_failed(exc)

    def used(self) -> int:
        """Requests counted in the last window (for status pages and tests)."""
        if not self._using_local():
            try:
                return int(
                    self._count_script(
                        keys=list(self._log_keys.values()), args=[self._now_arg(), self.window]
                    )
                )
            except redis.RedisError as exc:
                self._redis_failed(exc)
        return self._local.count(self._local_now(), self.window)


def redis_for_budget(url: str) -> redis.Redis:
    """A client of its own for the budget: fails in half a second and never retries, so a dead
    Redis costs a page at most that (then the local fallback answers for a few seconds)."""
    return redis.Redis.from_url(
        url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )


def budget_from_settings() -> RequestBudget | None:
    """The process's budget, or None when VOX_REQUESTS_PER_MINUTE is 0.

    Shared through the Redis of the default cache when that is a Redis cache, through a file in
    its folder when that is the file cache, else kept in that cache for this process."""
    # Imported here: the rest of voxdash.vox works without Django settings (scripts, the simulator).
    from django.conf import settings
    from django.core.cache import caches
    from django.core.cache.backends.filebased import FileBasedCache
    from django.core.cache.backends.redis import RedisCache
    from django.utils.module_loading import import_string

    per_minute = settings.VOX_REQUESTS_PER_MINUTE
    if not per_minute:
        return None
    config = settings.CACHES["default"]
    backend = import_string(config["BACKEND"])
    client, local = None, None
    if issubclass(backend, RedisCache):
        location = config["LOCATION"]
        # Django's own rule: several servers, comma-separated or a list; the first one is written to.
        first = location.split(",")[0] if isinstance(location, str) else location[0]
        client = redis_for_budget(first.strip())
    elif issubclass(backend, FileBasedCache):
        local = FileLog(Path(config["LOCATION"]) / "vox-budget.json")  # the cache ignores non-.djcache files
    else:
        local = CacheLog(caches["default"])
    return RequestBudget(
        client,
        local=local,
        per_minute=per_minute,
        reserve=settings.VOX_SYNC_RESERVE_PER_MINUTE,
        background_min=settings.VOX_BACKGROUND_MIN_PER_MINUTE,
        placement_reserve=settings.VOX_PLACEMENT_RESERVE_PER_MINUTE,
        api_reserve=settings.VOX_API_PAGE_RESERVE_PER_MINUTE,
        background_wait=settings.VOX_SYNC_BUDGET_WAIT,
        local_per_minute=settings.VOX_BUDGET_LOCAL_PER_MINUTE or None,
    )
