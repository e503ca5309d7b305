"""Thin Celery task, named as the service it runs (beat runs it too: settings._beat_schedule)."""

from celery import shared_task

from . import delivery, receivers


@shared_task
def event_deliveries_send() -> None:
    delivery.event_deliveries_send()


@shared_task
def call_changes_sweep() -> None:
    receivers.call_changes_sweep()
