"""Thin Celery tasks, named as the services they run (beat: settings' "prune-audit-log", nightly)."""

from celery import shared_task

from . import services


@shared_task
def audit_prune() -> int:
    # No retries: a prune that fails is done by the next night's, and the entries wait a day.
    return services.audit_prune()
