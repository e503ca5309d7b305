"""Thin Celery task, named as the service it runs (beat: settings' "prune-api-keys", nightly)."""

from celery import shared_task

from . import idempotency


@shared_task
def idempotent_requests_prune() -> int:
    # No retries: a prune that fails is done by the next night's.
    return idempotency.idempotent_requests_prune()
