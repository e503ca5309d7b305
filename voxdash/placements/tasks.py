"""Celery tasks: thin wrappers named as the services they run."""

from celery import shared_task

from . import scheduled


@shared_task
def placements_due_send() -> int:
    # No retries of its own: beat runs it every VOXDASH_SCHEDULED_CALLS_EVERY seconds, and each
    # call's claim (not the task) is what makes a call go once.
    return scheduled.placements_due_send()
