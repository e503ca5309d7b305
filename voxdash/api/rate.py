"""Each token's own rate limit: requests a minute to voxdash's API (`ServiceToken.rate_per_minute`).

A fixed window per UTC minute, counted in the shared cache (Redis, or the process's memory while
Redis is down: the limit then holds per process). It is the token's fair share of voxdash; what
reaches Vox is rationed again by the one request budget (voxdash.vox.budget), behind the pages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

from .models import ServiceToken


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    retry_after: int  # seconds until the window ends (for a refused request's Retry-After)

    @property
    def allowed(self) -> bool:
        return self.remaining >= 0


def rate_take(*, token: ServiceToken, now: float | None = None) -> RateState:
    """Count one request against the token's minute; `allowed` False once the minute is spent."""
    now = time.time() if now is None else now
    minute = int(now // 60)
    key = f"api-rate:{token.pk}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        used = 1
    return RateState(token.rate_per_minute, token.rate_per_minute - used, 60 - int(now % 60))
