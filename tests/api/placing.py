"""What the placing tests share: a valid body for the simulator, and sending it."""

from __future__ import annotations


def call_body(simulator, **changes) -> dict:
    number, agent = simulator.store.list_numbers()[0], simulator.store.list_agents()[0]
    return {
        "customer_phone": "+2348031234560",
        "customer_name": "Adaeze Okonkwo",
        "purpose": "payment_reminder",
        "context": "Remind about invoice INV-2026-001 for NGN 15,000 due tomorrow.",
        "business_voice_number_id": number["id"],
        "ai_agent_id": agent["id"],
        **changes,
    }


def place(api, body, key="key-1", **headers):
    return api.post(
        "/placed-calls", json=body, headers={"Idempotency-Key": key, **headers} if key else headers
    )
