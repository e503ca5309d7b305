"""Thin Celery tasks, named as the services they run (beat runs both: settings._beat_schedule)."""

from celery import shared_task

from . import evaluate, notify


@shared_task
def alerts_evaluate() -> None:
    evaluate.alerts_evaluate()


@shared_task
def alert_deliveries_send() -> None:
    notify.alert_deliveries_send()
