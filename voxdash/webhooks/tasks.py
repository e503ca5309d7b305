"""The webhook tasks: they own retries and sending; the work is in services and voxdash.sweep."""

from __future__ import annotations

from celery import shared_task

from voxdash import sweep

from . import services


# Retries cover what may pass (a locked database, a lost connection); an event whose data cannot
# be applied is recorded as failed by the service without raising, so it is not retried.
@shared_task(
    autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=300, retry_jitter=True, max_retries=8
)
def process_webhook_event(event_pk: int) -> str:
    return services.webhook_event_process(event_pk=event_pk)


# Beat, every VOXDASH_SWEEP_EVERY seconds: events whose message was lost (killed worker, broker
# restarted empty, push failed) are queued again. No retries: the next run is the retry.
@shared_task(ignore_result=True)
def sweep_webhook_events() -> int:
    stranded = sweep.webhook_events_claim_stranded()
    for event_pk in stranded:
        process_webhook_event.delay(event_pk)
    return len(stranded)
