"""The state of the connection to Vox, as the header and the overview show it.

`GET /health` costs one request of the key's 120 a minute, and every page shows the header, so the
answer is cached for everyone: a minute when healthy, a few seconds when not (so a fixed key shows
up quickly).
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from voxdash.vox import errors, get_client

CACHE_KEY = "voxdash:connection"
HEALTHY_FOR = 60
UNHEALTHY_FOR = 10


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

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def is_test(self) -> bool:
        return self.environment == "test"

    @property
    def is_key_problem(self) -> bool:
        """The key itself is wrong (invalid, expired, missing a scope): every page must say so."""
        return self.problem_kind in KEY_PROBLEMS


KEY_PROBLEMS = {
    cls.__name__
    for cls in (errors.VoxAuthError, errors.InvalidApiKey, errors.ExpiredApiKey, errors.MissingScope,
                errors.VoxForbidden, errors.IpNotAllowed, errors.OriginNotAllowed)
}


def check_connection() -> ConnectionStatus:
    """Ask Vox now (no cache)."""
    now = timezone.now()
    try:
        health = get_client().health()
    except errors.VoxError as exc:
        return ConnectionStatus(
            checked_at=now, problem=exc.user_message, hint=exc.hint, problem_kind=type(exc).__name__
        )
    return ConnectionStatus(
        checked_at=now,
        environment=health.environment,
        business_id=health.business_id,
        key_id=health.key_id,
        latency_ms=health.latency_ms,
    )


def connection_status(*, refresh: bool = False) -> ConnectionStatus:
    status = None if refresh else cache.get(CACHE_KEY)
    if status is None:
        status = check_connection()
        cache.set(CACHE_KEY, status, HEALTHY_FOR if status.ok else UNHEALTHY_FOR)
    return status
