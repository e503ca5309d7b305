"""Helpers for webhook tests: events shaped like Vox's and deliveries signed like the simulator's."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.test import Client

from vox_simulator.webhooks import signature_header

URL = "/webhooks/vox/"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def event(
    event_type: str, data: dict[str, Any] | None = None, *, at: datetime = T0, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "type": event_type,
        "created": at.isoformat().replace("+00:00", "Z"),
        "environment": "test",
        "data": data if data is not None else {},
    }


def call_data(call_id: str = "call_1", status: str = "in_progress", **extra: Any) -> dict[str, Any]:
    return {
        "callId": call_id,
        "status": status,
        "direction": "outbound",
        "durationSeconds": None,
        "recordingUrl": None,
        **extra,
    }


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def deliver(
    client: Client,
    payload: dict[str, Any] | bytes,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
):
    """POST a delivery signed as the simulator signs it (its own function, not ours)."""
    body = payload if isinstance(payload, bytes) else body_of(payload)
    signed = signature_header(
        secret or settings.VOX_WEBHOOK_SECRET, body, int(time.time()) if timestamp is None else timestamp
    )
    all_headers = {"Cloove-Signature": signed}
    if isinstance(payload, dict):
        all_headers |= {"Cloove-Webhook-Id": payload["id"], "Cloove-Webhook-Event": payload["type"]}
    all_headers |= headers or {}
    return client.post(URL, body, content_type="application/json", headers=all_headers)
