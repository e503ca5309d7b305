"""The shared request budget: every request to Vox, from any process, takes a token here first.

Vox allows 120 requests a minute per API key, shared by every web process and worker. Hitting
that limit turns pages into banners, so we count our own requests in the shared cache (Redis in
production) and stop before Vox has to stop us.

The bucket is a sliding minute counted in six 10-second slots: a request increments the current
slot (`cache.incr`, atomic on Redis) and is admitted when the last 60 seconds hold no more than the
allowance. The oldest slot counts only for the part of it still inside the window, which is the
usual "sliding window counter": one INCR and one MGET per request, no Lua, and at most a slot's
worth of error (a fixed per-minute key would let 240 requests through around a minute boundary).

Two priorities share it:
- interactive (a page someone is looking at) may use the whole minute; when it is spent,
  `VoxBudgetExhausted` is raised at once, so the view falls back to the mirror instead of waiting;
- background (sync) stops `reserve` tokens short of the limit and waits for a token instead of
  failing, so a long sync never starves the pages.

Refusing after the increment (then giving the token back with `decr`) keeps the race safe: two
processes racing for the last token can both be refused, never both admitted.
With the locmem/filebased cache of the demo and the tests, increments are best effort.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import VoxBudgetExhausted

INTERACTIVE = "interactive"
BACKGROUND = "background"
PRIORITIES = (INTERACTIVE, BACKGROUND)

_SLOTS = 6  # per window: the precision of the sliding minute


@dataclass(frozen=True)
class Ticket:
    """One admitted request's token, for `RequestBudget.refund`."""

    slot: int
    priority: str


class RequestBudget:
    def __init__(
        self,
        cache: Any,
        *,
        per_minute: int = 120,
        reserve: int = 30,
        background_wait: float = 120.0,
        window: float = 60.0,
        key_prefix: str = "voxdash:vox:budget",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
    ):
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1 (use no budget at all to turn it off)")
        self.cache = cache
        self.per_minute = per_minute
        # Never reserve the whole bucket: background work must still move.
        self.reserve = max(0, min(reserve, per_minute - 1))
        self.background_wait = background_wait
        self.window = window
        self.slot_seconds = window / _SLOTS
        self.key_prefix = key_prefix
        self._clock = clock
        self._sleep = sleep

    def allowance(self, priority: str) -> int:
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        return self.per_minute - (self.reserve if priority == BACKGROUND else 0)

    def _key(self, slot: int) -> str:
        return f"{self.key_prefix}:{slot}"

    def _used_before(self, now: float, slot: int) -> float:
        """Requests in the window before the current slot (the oldest slot weighted)."""
        keys = [self._key(slot - i) for i in range(1, _SLOTS + 1)]
        counts = self.cache.get_many(keys)
        used = float(sum(int(counts.get(k) or 0) for k in keys[:-1]))
        # The oldest slot still overlaps the window by the part of the current slot not yet lived.
        elapsed = (now - slot * self.slot_seconds) / self.slot_seconds
        return used + int(counts.get(keys[-1]) or 0) * max(0.0, 1.0 - elapsed)

    def try_take(self, priority: str = INTERACTIVE) -> float:
        """Take a token: 0.0 when admitted, otherwise the seconds to wait before asking again."""
        allowance = self.allowance(priority)
        now = self._clock()
        slot = math.floor(now / self.slot_seconds)
        key = self._key(slot)
        # The slot lives for a window and a slot, so its neighbours can still read it.
        self.cache.add(key, 0, timeout=math.ceil(self.window + 2 * self.slot_seconds))
        try:
            mine = self.cache.incr(key)
        except ValueError:  # expired between add and incr (only on a clock jump): start it again
            self.cache.add(key, 1, timeout=math.ceil(self.window + 2 * self.slot_seconds))
            mine = 1
        if self._used_before(now, slot) + mine <= allowance:
            return 0.0
        try:
            self.cache.decr(key)  # give the token back: it was never used
        except ValueError:
            pass
        # The next slot boundary is the earliest moment the oldest requests leave the window.
        return max(0.05, (slot + 1) * self.slot_seconds - now)

    def acquire(self, priority: str = INTERACTIVE) -> Ticket:
        """Take a token or raise VoxBudgetExhausted; background work first waits its turn.

        The ticket names the token, so a request that never left this machine (the connection
        was refused) can give it back with `refund`.
        """
        deadline = self._clock() + (self.background_wait if priority == BACKGROUND else 0.0)
        while True:
            wait = self.try_take(priority)
            if not wait:
                return Ticket(slot=math.floor(self._clock() / self.slot_seconds), priority=priority)
            if self._clock() + wait > deadline:
                raise VoxBudgetExhausted(
                    f"The Vox request budget ({self.allowance(priority)}/min for {priority} "
                    "requests) is spent.",
                    retry_after=wait,
                )
            self._sleep(wait)

    def refund(self, ticket: Ticket) -> None:
        """Give back a token whose request never reached Vox (it did not count against the key)."""
        try:
            self.cache.decr(self._key(ticket.slot))
        except ValueError:
            pass

    def used(self) -> int:
        """Requests counted in the last minute (for status pages and tests)."""
        now = self._clock()
        slot = math.floor(now / self.slot_seconds)
        return round(self._used_before(now, slot) + int(self.cache.get(self._key(slot)) or 0))


def budget_from_settings() -> RequestBudget | None:
    """The process's budget on the default cache, or None when VOX_REQUESTS_PER_MINUTE is 0."""
    from django.conf import settings
    from django.core.cache import cache

    per_minute = getattr(settings, "VOX_REQUESTS_PER_MINUTE", 120)
    if not per_minute:
        return None
    return RequestBudget(
        cache,
        per_minute=per_minute,
        reserve=getattr(settings, "VOX_SYNC_RESERVE_PER_MINUTE", 30),
        background_wait=getattr(settings, "VOX_SYNC_BUDGET_WAIT", 120.0),
    )
