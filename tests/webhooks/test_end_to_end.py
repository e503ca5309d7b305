"""The simulator places and completes calls; its webhooks go through the receiver (live server)
into a real Celery worker on real Redis, and the mirror ends in the right state."""

from __future__ import annotations

import uuid

import pytest

from vox_simulator import Simulator, keys
from voxdash.calls.models import Call
from voxdash.vox import get_client, reset_client
from voxdash.vox.types import TERMINAL_STATUSES, CallRequest
from voxdash.webhooks.models import WebhookEvent

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
FAST_BACKOFF = (0.05, 0.1, 0.2, 0.4, 0.8)


@pytest.fixture
def sim(live_server, settings):
    with Simulator(
        port=0,
        seed=1,
        calls=20,
        lifecycle_step_seconds=None,
        rate_limit=None,
        webhook_url=live_server.url + "/webhooks/vox/",
        webhook_secret=settings.VOX_WEBHOOK_SECRET,
        webhook_backoff=FAST_BACKOFF,
    ) as simulator:
        settings.VOX_API_BASE_URL = simulator.base_url
        settings.VOX_API_KEY = keys.DEMO_KEY
        reset_client()
        yield simulator
    reset_client()


def place(sim: Simulator, phone: str) -> str:
    number = next(n for n in sim.store.list_numbers() if n["status"] == "active" and n["voiceCapable"])
    agent = next(a for a in sim.store.list_agents() if a["isDefault"])
    placed = get_client().place_call(
        CallRequest(
            customer_phone=phone,
            purpose="payment_reminder",
            context="Invoice INV-1 is due.",
            business_voice_number_id=number["id"],
            ai_agent_id=agent["id"],
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    return placed.id


def run_to_end(sim: Simulator, call_id: str) -> None:
    for _ in range(5):
        sim.advance(call_id)
    assert sim.wait_for_deliveries(10), sim.deliveries()


def all_processed(expected: int):
    def check() -> bool:
        events = WebhookEvent.objects.all()
        return len(events) == expected and all(e.outcome != WebhookEvent.Outcome.PENDING for e in events)

    return check


def test_completed_call_reaches_the_mirror_with_its_recording(celery_worker, sim):
    call_id = place(sim, "+2348031234560")
    run_to_end(sim, call_id)
    assert all(d["last_status"] == 200 for d in sim.deliveries())
    celery_worker.wait_for(all_processed(3), what="three events processed by the worker")

    call = Call.objects.get(vox_id=call_id)
    assert call.status == "completed"
    assert call.recording_url == f"{sim.base_url}/recordings/{call_id}.wav"
    assert call.duration_seconds and call.duration_seconds >= 1
    assert call.started_at and call.ended_at and call.status_at
    outcomes = dict(WebhookEvent.objects.values_list("event_type", "outcome"))
    assert outcomes == {
        "vox.call.started": "applied",
        "vox.call.completed": "applied",
        "vox.recording.ready": "applied",
    }
    assert "process_webhook_event" in celery_worker.log()  # the worker process did the work


def test_failed_call_reaches_the_mirror_with_its_reason(celery_worker, sim):
    call_id = place(sim, "+2348031234567")  # last digit 7: busy
    run_to_end(sim, call_id)
    celery_worker.wait_for(all_processed(1), what="the failed event processed")
    call = Call.objects.get(vox_id=call_id)
    assert (call.status, call.failure_reason, call.recording_url) == ("busy", "busy", "")


def test_out_of_order_and_duplicated_deliveries(celery_worker, live_server, settings):
    """Events for several calls delivered newest first, about half of them twice, to 4 worker threads."""
    with Simulator(
        port=0,
        seed=2,
        calls=5,
        lifecycle_step_seconds=None,
        webhook_url=None,
        webhook_secret=settings.VOX_WEBHOOK_SECRET,
    ) as source:
        # Record a whole lifecycle per call without delivering it...
        settings.VOX_API_BASE_URL, settings.VOX_API_KEY = source.base_url, keys.DEMO_KEY
        reset_client()
        phones = ["+2348030000001", "+2348030000002", "+2348030000003", "+2348030000008"]
        ids = [place(source, phone) for phone in phones]
        emitted = []
        for _ in range(4):
            emitted += source.advance()
        reset_client()
    assert len(emitted) == 3 * 3 + 1

    # ...then deliver it backwards through a second simulator that duplicates deliveries.
    with Simulator(
        port=0,
        seed=2,
        calls=5,
        lifecycle_step_seconds=None,
        webhook_url=live_server.url + "/webhooks/vox/",
        webhook_secret=settings.VOX_WEBHOOK_SECRET,
        webhook_backoff=FAST_BACKOFF,
        webhook_duplicate_rate=0.5,
    ) as relay:
        for original in reversed(emitted):
            relay.dispatcher.send(original, relay.webhook_url, relay.webhook_secret)
        assert relay.wait_for_deliveries(15)
        deliveries = relay.deliveries()
    duplicates = sum(d["duplicate"] for d in deliveries)
    assert duplicates > 0, "the seeded duplicate rate sent nothing twice"
    assert all(d["last_status"] == 200 for d in deliveries)

    celery_worker.wait_for(all_processed(len(emitted)), what="every event processed")
    assert sum(WebhookEvent.objects.values_list("deliveries", flat=True)) == len(emitted) + duplicates
    calls = {c.vox_id: c for c in Call.objects.filter(vox_id__in=ids)}
    for call_id, phone in zip(ids, phones):
        call = calls[call_id]
        assert call.status in TERMINAL_STATUSES
        if phone.endswith("8"):
            assert (call.status, call.failure_reason) == ("failed", "carrier_rejected")
        else:
            assert call.status == "completed", call
            assert call.recording_url.endswith(f"/recordings/{call_id}.wav")
            assert call.duration_seconds is not None and call.started_at is not None
    assert not WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.FAILED).exists()
