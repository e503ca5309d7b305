"""The one webhook task: it owns retries; the work is services.webhook_event_process."""

from __future__ import annotations

from celery import shared_task

from . import services


# Retries cover what may pass (a locked database, a lost connection); an event whose data cannot
# be applied is recorded as failed by the service without raising, so it is not retried.
@shared_task(autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=300, retry_jitter=True,
             max_retries=8)
def process_webhook_event(event_pk: int) -> str:
    return services.webhook_event_process(event_pk=event_pk)
