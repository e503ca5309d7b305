"""The state of the connection to Vox, as the header and the overview show it.

`GET /health` costs one request of the key's 120 a minute, and every page shows the header, so the
answer is cached for everyone: a minute when healthy, a few seconds when not (so a fixed key shows
up quickly).
"""

from dataclasses import dataclass, field, replace
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from voxdash.lib.caching import cached_or_fetch
from voxdash.vox import errors, get_client

CACHE_KEY = "voxdash:connection"
HEALTHY_FOR = 60
UNHEALTHY_FOR = 10
# Vox's last real answer, shown while checks cannot be sent (budget or page deadline spent).
LAST_KNOWN_KEY = "voxdash:connection:last"
LAST_KNOWN_FOR = 600
# Every page's header reads the status: each web process keeps it this long itself, so most pages
# make no round trip to Redis for it. A key found wrong shows in every process within as long.
KEPT_HERE = 5
_NOT_SENT = frozenset({errors.VoxBudgetExhausted.__name__, errors.VoxDeadlineSpent.__name__})


@dataclass(frozen=True)
class ConnectionStatus:
    checked_at: datetime
    environment: str = ""
    business_id: str = ""
    key_id: str = ""
    latency_ms: float | None = None
    problem: str = ""  # what went wrong, for a banner; empty when healthy
    hint: str = ""  # what to do about it
    problem_kind: str = ""  # the error's class name, for tests and styling
    # The key itself is wrong (invalid, expired, missing a scope, refused for this IP or origin):
    # every page must say so, not only the ones that happen to call Vox.
    is_key_problem: bool = False
    is_test: bool = False
    # Vox's last answer shown again because a check could not be sent; not part of the answer.
    repeated: bool = field(default=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problem


def check_connection() -> ConnectionStatus:
    """Ask Vox now (no cache)."""
    now = timezone.now()
    try:
        health = get_client().health()
    except errors.VoxError as exc:
        return ConnectionStatus(
            checked_at=now,
            problem=exc.user_message,
            hint=exc.hint,
            problem_kind=type(exc).__name__,
            is_key_problem=isinstance(exc, (errors.VoxAuthError, errors.VoxForbidden)),
        )
    return ConnectionStatus(
        checked_at=now,
        environment=health.environment,
        business_id=health.business_id,
        key_id=health.key_id,
        latency_ms=health.latency_ms,
        # Anything but "live" is test data to the user: better a TEST badge too many than too few.
        is_test=health.is_test,
    )


def connection_status(*, refresh: bool = False) -> ConnectionStatus:
    return cached_or_fetch(CACHE_KEY, _kept_for, _vox_or_last_answer, refresh=refresh, kept_here=KEPT_HERE)


def _vox_or_last_answer() -> ConnectionStatus:
    status = check_connection()
    if status.problem_kind not in _NOT_SENT:
        cache.set(LAST_KNOWN_KEY, status, LAST_KNOWN_FOR)
        return status
    # The check never reached Vox (this page's time was spent, or the budget was: busy pages), so
    # it says nothing about Vox. Vox's last answer stands, with the time it was given: otherwise
    # under load every header would lose its TEST badge and the overview would say "budget
    # spent" instead of "Connected".
    last = cache.get(LAST_KNOWN_KEY)
    return status if last is None else replace(last, repeated=True)


def _kept_for(status: ConnectionStatus) -> int:
    if status.problem_kind in _NOT_SENT:
        return 0  # nothing better to show, and nothing worth keeping
    # A repeated answer is kept briefly, so the header asks Vox again soon once it can.
    return HEALTHY_FOR if status.ok and not status.repeated else UNHEALTHY_FOR
