"""Stored webhook events for the worker tests, as the receiver stores them (pending, then enqueued)."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone

from voxdash.webhooks.models import WebhookEvent
from voxdash.webhooks.tasks import process_webhook_event


def store_events(count: int, *, prefix: str = "evt", enqueue: bool = True) -> list[int]:
    """`count` pending vox.call.started events, one call each; enqueue each, as the receiver does."""
    created = timezone.now() - timedelta(minutes=1)
    pks = []
    for i in range(count):
        payload = {
            "id": f"{prefix}_{i}",
            "type": "vox.call.started",
            "environment": "test",
            "created": created.isoformat(),
            "data": {"callId": f"call_{prefix}_{i}", "status": "in_progress"},
        }
        event = WebhookEvent.objects.create(
            event_id=payload["id"],
            event_type=payload["type"],
            environment="test",
            created=created,
            raw_body=json.dumps(payload),
            payload=payload,
            call_vox_id=payload["data"]["callId"],
        )
        if enqueue:
            process_webhook_event.delay(event.pk)
        pks.append(event.pk)
    return pks


def pending(pks: list[int]) -> int:
    return WebhookEvent.objects.filter(pk__in=pks, outcome=WebhookEvent.Outcome.PENDING).count()


def applied(pks: list[int]) -> int:
    return WebhookEvent.objects.filter(pk__in=pks, outcome=WebhookEvent.Outcome.APPLIED).count()
