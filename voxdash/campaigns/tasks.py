"""Celery tasks: thin wrappers around the dispatcher (voxdash.campaigns.running)."""

import threading

from celery import shared_task

from . import running

# One run at a time in a process. A run loops while there is something to send, so a second one
# beside it would only wait for the same campaign locks while holding a worker thread that
# webhook processing needs. A request arriving during a run makes that run go round once more
# instead (`_again`), so no outcome waits for beat. Between processes (two workers) the
# database's locks keep runs apart (running._claim).
_running = threading.Lock()
_again = threading.Event()


# Beat, every VOXDASH_CAMPAIGN_DISPATCH_EVERY seconds, and queue.py on start, resume and
# outcomes. No retries: the next run is the retry, and every row's state is in the database.
@shared_task(ignore_result=True)
def campaigns_dispatch() -> int:
    _again.set()
    accepted = 0
    while _again.is_set() and _running.acquire(blocking=False):
        try:
            _again.clear()
            accepted += running.campaigns_dispatch()
        finally:
            _running.release()
    return accepted
