"""Helpers of the rule and evaluation tests ("checks" part): calls placed through the simulator
and heard of, and the notices a rule's alerts queued."""

from __future__ import annotations

import uuid
from datetime import timedelta

import time_machine

from tests.campaigns.dispatching import simulator_ids
from vox_simulator import Simulator
from voxdash.alerts.evaluate import alerts_evaluate
from voxdash.alerts.models import Alert, AlertDelivery, AlertRule
from voxdash.calls.sync import calls_sync
from voxdash.placements.models import PlacedCall
from voxdash.placements.services import call_place


class Clock:
    """Frozen time (time_machine), moved on by hand."""

    def __init__(self, traveller: time_machine.Coordinates):
        self.traveller = traveller

    def forward(self, minutes: float) -> None:
        self.traveller.shift(timedelta(minutes=minutes))


def place_calls(sim: Simulator, user, phones: list[str]) -> list[PlacedCall]:
    """Each phone called once through voxdash's own placing (the guard, the record, Vox)."""
    number_id, agent_id = simulator_ids(sim)
    placed = []
    for phone in phones:
        payload = {
            "customer_phone": phone,
            "customer_name": "Adaeze Okonkwo",
            "purpose": "payment_reminder",
            "context": "Remind about invoice INV-2026-001.",
            "business_voice_number_id": number_id,
            "ai_agent_id": agent_id,
        }
        attempt = call_place(user=user, payload=payload, idempotency_key=uuid.uuid4())
        placed.append(attempt.record)
    return placed


def calls_end(sim: Simulator, placed: list[PlacedCall]) -> None:
    """These calls to their end in the simulator (not the live calls it seeded), and the mirror
    synced to hear of it."""
    for record in placed:
        for _ in range(3):
            sim.advance(record.vox_placement_id)
    calls_sync()


def notices(rule: AlertRule) -> list[str]:
    """The notices queued for the rule's alerts, oldest first (one per channel each)."""
    return list(
        AlertDelivery.objects.filter(alert__rule=rule)
        .order_by("created_at", "id")
        .values_list("notice", flat=True)
    )


def open_alerts(rule: AlertRule) -> list[Alert]:
    return list(Alert.objects.filter(rule=rule, resolved_at=None))


def evaluate(rule: AlertRule) -> AlertRule:
    """One evaluation (as beat runs it); the rule as it is afterwards."""
    alerts_evaluate()
    rule.refresh_from_db()
    return rule
