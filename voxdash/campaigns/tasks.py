"""Celery tasks: thin wrappers around the dispatcher (voxdash.campaigns.running)."""

import contextlib
import fcntl
from collections.abc import Iterator

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from . import running

# One dispatch run at a time on a host, whatever the pool (threads, or README's prefork with
# `--concurrency 2`). A run loops while there is something to send and, when the budget is
# tight, waits for its tokens: a second run beside it would only wait for the same tokens and
# campaign locks while holding a pool slot that webhook processing needs (with two slots, both:
# outcomes then waited a minute at a time). The lock is flock on a file, which the kernel frees
# when its holder dies, even SIGKILLed. Runs on other hosts are kept apart by the database's
# locks (running._claim).
#
# A request that finds the lock held counts itself (_REQUESTS, in the shared cache) and leaves;
# the run, once done, goes round again if the count moved, so no outcome waits for beat.
_REQUESTS = "voxdash:campaigns:dispatch-requests"


# Beat, every VOXDASH_CAMPAIGN_DISPATCH_EVERY seconds, and queue.py on start, resume and
# outcomes. No retries: the next run is the retry, and every row's state is in the database.
@shared_task(ignore_result=True)
def campaigns_dispatch() -> int:
    _count_request()
    accepted = 0
    while True:
        seen = cache.get(_REQUESTS, 0)
        with _host_lock() as held:
            if not held:
                return accepted  # the run under way sees this request's count when it is done
            accepted += running.campaigns_dispatch()
        if cache.get(_REQUESTS, 0) == seen:
            return accepted


def _count_request() -> None:
    cache.add(_REQUESTS, 0, timeout=None)
    try:
        cache.incr(_REQUESTS)
    except ValueError:  # evicted between the two: the next request counts again
        cache.set(_REQUESTS, 1, timeout=None)


@contextlib.contextmanager
def _host_lock() -> Iterator[bool]:
    """True while this run holds the host's dispatch lock; False when another run does."""
    path = settings.VAR_DIR / "campaigns-dispatch.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as file:  # each open is its own lock holder, threads of one process too
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)
