"""Thin Celery tasks, named as the services they run (beat runs them: settings._beat_schedule)."""

from celery import shared_task

from . import delivery, receivers, retention


@shared_task
def event_deliveries_send() -> None:
    delivery.event_deliveries_send()


@shared_task
def call_changes_sweep() -> None:
    receivers.call_changes_sweep()


@shared_task
def events_prune() -> int:
    # No retries: a prune that fails is done by the next night's.
    return retention.events_prune()
