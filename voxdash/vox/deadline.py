"""The current web request's deadline for Vox: one overall time limit shared by every request to
Vox made while serving one page.

A page may ask Vox several things (the history's list, the header's health check, the pickers, the
placement itself). Each has its own connect and read timeouts, and background work retries them,
so without a shared limit a slow Vox holds a web worker for attempts x timeouts x requests, past
gunicorn's timeout. The web middleware (voxdash.health.deadline) opens a deadline for each request;
the client cuts every attempt's timeouts to the time left and sends nothing once it is spent.

Celery tasks and management commands open none, so they keep their full timeouts and retries.

Django-free (a contextvar), like the rest of the client: each thread and each asyncio task sees
its own request's deadline, never another's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["within", "remaining", "active"]

# time.monotonic() at which the current request's time for Vox runs out; None: no deadline.
_until: ContextVar[float | None] = ContextVar("voxdash_vox_deadline", default=None)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Every Vox request made inside this block shares `seconds` (None or <= 0: no deadline).

    Nested blocks never extend the outer one: the earlier deadline wins.
    """
    if seconds is None or seconds <= 0:
        yield
        return
    until = time.monotonic() + seconds
    outer = _until.get()
    token = _until.set(until if outer is None else min(outer, until))
    try:
        yield
    finally:
        _until.reset(token)


def remaining() -> float | None:
    """Seconds left (never negative), or None when no deadline is open (background work)."""
    until = _until.get()
    if until is None:
        return None
    return max(0.0, until - time.monotonic())


def active() -> bool:
    return _until.get() is not None
