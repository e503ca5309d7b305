"""A placed call's lifecycle, the webhooks it sends, their signatures, retries, and recordings."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import socket
import time
import wave

import httpx
import pytest

from vox_simulator import keys

from .conftest import USER_AGENT, api_client, call_body, running

FAST_BACKOFF = (0.01, 0.02, 0.03, 0.04, 0.05)
ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def verify(secret: str, header: str, body: bytes) -> int:
    """The documented algorithm, written independently of the simulator: returns `t` if valid."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode("utf-8"), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), "signature does not verify"
    return int(parts["t"])


def place(sim, phone: str, key: str = keys.DEMO_KEY) -> str:
    with api_client(sim, key) as http:
        response = http.post("/v1/vox/calls", json=call_body(sim, customer_phone=phone))
    assert response.status_code == 201
    return response.json()["data"]["id"]


def listed(sim, call_id: str) -> dict:
    with api_client(sim) as http:
        calls = http.get("/v1/vox/calls", params={"limit": 10}).json()["data"]
    return next(c for c in calls if c["id"] == call_id)


def test_completed_lifecycle_events_in_order_and_signed(receiver):
    with running(webhook_url=receiver.url, webhook_backoff=FAST_BACKOFF) as sim:
        call_id = place(sim, "+2348031234560")
        assert sim.advance(call_id) == []
        assert listed(sim, call_id)["status"] == "ringing"
        started = sim.advance(call_id)
        assert [e["type"] for e in started] == ["vox.call.started"]
        in_progress = listed(sim, call_id)
        assert in_progress["status"] == "in_progress" and in_progress["startedAt"] is not None
        finished = sim.advance(call_id)
        assert [e["type"] for e in finished] == ["vox.call.completed", "vox.recording.ready"]
        assert sim.advance(call_id) == []  # terminal: nothing more happens
        assert sim.wait_for_deliveries(5)

        done = listed(sim, call_id)
        assert done["status"] == "completed"
        assert done["durationSeconds"] >= 1 and done["endedAt"] >= done["startedAt"]

        assert receiver.types() == ["vox.call.started", "vox.call.completed", "vox.recording.ready"]
        for item in receiver.received:
            event = item.event
            assert set(event) == {"id", "type", "created", "environment", "data"}
            assert event["id"].startswith("evt_")
            assert ISO_MS_Z.match(event["created"])
            assert event["environment"] == "test"
            assert item.headers["Cloove-Webhook-Id"] == event["id"]
            assert item.headers["Cloove-Webhook-Event"] == event["type"]
            assert item.headers["Content-Type"] == "application/json"
            assert item.headers["User-Agent"] and not item.headers["User-Agent"].startswith("python")
            t = verify(keys.DEMO_WEBHOOK_SECRET, item.headers["Cloove-Signature"], item.body)
            assert abs(t - time.time()) < 300
            data = event["data"]
            assert data["callId"] == call_id and data["direction"] == "outbound"
            assert {"callId", "status", "direction", "durationSeconds", "recordingUrl"} <= set(data)

        started_evt, completed_evt, recording_evt = (r.event["data"] for r in receiver.received)
        assert started_evt["status"] == "in_progress" and started_evt["durationSeconds"] is None
        assert completed_evt["status"] == "completed"
        assert completed_evt["durationSeconds"] == done["durationSeconds"]
        assert recording_evt["recordingUrl"] == f"{sim.base_url}/recordings/{call_id}.wav"


def test_signature_fails_with_another_secret_or_body(receiver):
    with running(webhook_url=receiver.url, webhook_secret="whsec_other", webhook_backoff=FAST_BACKOFF) as sim:
        call_id = place(sim, "+2348031234560")
        sim.advance(call_id)
        sim.advance(call_id)
        assert sim.wait_for_deliveries(5)
    item = receiver.received[0]
    verify("whsec_other", item.headers["Cloove-Signature"], item.body)
    with pytest.raises(AssertionError):
        verify(keys.DEMO_WEBHOOK_SECRET, item.headers["Cloove-Signature"], item.body)
    with pytest.raises(AssertionError):
        verify("whsec_other", item.headers["Cloove-Signature"], item.body + b" ")


@pytest.mark.parametrize("last_digit, status", [("7", "busy"), ("8", "failed"), ("9", "no_answer")])
def test_failure_outcomes_by_last_digit(receiver, last_digit, status):
    with running(webhook_url=receiver.url, webhook_backoff=FAST_BACKOFF) as sim:
        call_id = place(sim, "+234803123456" + last_digit)
        sim.advance(call_id)
        events = sim.advance(call_id)
        assert [e["type"] for e in events] == ["vox.call.failed"]
        assert events[0]["data"]["status"] == status
        assert isinstance(events[0]["data"]["reason"], str) and events[0]["data"]["reason"]
        call = listed(sim, call_id)
        assert call["status"] == status
        assert call["startedAt"] is None and call["endedAt"] is not None
        assert sim.wait_for_deliveries(5)
    assert receiver.types() == ["vox.call.failed"]


def test_advance_all_moves_every_live_call(simulator, api):
    placed = place(simulator, "+2348031234560")
    simulator.advance()
    simulator.advance()
    simulator.advance()
    calls = api.get("/v1/vox/calls", params={"limit": 100}).json()["data"]
    assert not [c for c in calls if c["status"] in ("queued", "ringing", "in_progress")]
    assert next(c for c in calls if c["id"] == placed)["status"] == "completed"


def test_advance_unknown_call(simulator, api):
    with pytest.raises(KeyError):
        simulator.advance("00000000-0000-4000-8000-000000000000")
    response = api.post("/_simulator/advance", json={"call_id": "nope"})
    assert response.status_code == 404


def test_advance_over_http(simulator, api):
    call_id = api.post("/v1/vox/calls", json=call_body(simulator)).json()["data"]["id"]
    api.post("/_simulator/advance", json={"call_id": call_id})
    response = api.post("/_simulator/advance", json={"call_id": call_id})
    assert [e["type"] for e in response.json()["events"]] == ["vox.call.started"]


def test_live_key_calls_send_live_events(simulator):
    call_id = place(simulator, "+2348031234560", keys.LIVE_KEY)
    simulator.advance(call_id)
    assert simulator.advance(call_id)[0]["environment"] == "live"


def test_lifecycle_runs_by_itself(receiver):
    with running(lifecycle_step_seconds=0.05, webhook_url=receiver.url, webhook_backoff=FAST_BACKOFF) as sim:
        call_id = place(sim, "+2348031234560")
        deadline = time.monotonic() + 3
        while listed(sim, call_id)["status"] != "completed" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listed(sim, call_id)["status"] == "completed"
        assert sim.wait_for_deliveries(5)
        mine = [r.event["type"] for r in receiver.received if r.event["data"].get("callId") == call_id]
    assert mine == ["vox.call.started", "vox.call.completed", "vox.recording.ready"]


def test_retries_after_receiver_errors(receiver):
    receiver.statuses = [500, 503]
    with running(webhook_url=receiver.url, webhook_backoff=FAST_BACKOFF) as sim:
        call_id = place(sim, "+2348031234560")
        sim.advance(call_id)
        sim.advance(call_id)
        assert sim.wait_for_deliveries(5)
        (delivery,) = sim.deliveries()
    assert delivery["type"] == "vox.call.started"
    assert delivery["attempts"] == 3
    assert delivery["last_status"] == 200
    assert delivery["state"] == "delivered" and delivery["delivered"] is True
    assert [a["status"] for a in delivery["attempt_log"]] == [500, 503, 200]
    assert len({r.event["id"] for r in receiver.received}) == 1 and len(receiver.received) == 3
    # Each attempt is signed afresh.
    for item in receiver.received:
        verify(keys.DEMO_WEBHOOK_SECRET, item.headers["Cloove-Signature"], item.body)


def test_gives_up_after_six_attempts_on_connection_errors():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"  # nothing listens there
    with running(webhook_url=dead_url, webhook_backoff=FAST_BACKOFF) as sim:
        sim.emit(
            "vox.call.completed",
            {
                "callId": "x",
                "status": "completed",
                "direction": "outbound",
                "durationSeconds": 3,
                "recordingUrl": None,
            },
        )
        assert sim.wait_for_deliveries(5)
        (delivery,) = sim.deliveries()
    assert delivery["attempts"] == 6
    assert delivery["state"] == "failed" and delivery["last_status"] is None
    assert delivery["last_error"]


def test_duplicate_deliveries_share_the_event_id(receiver):
    with running(webhook_url=receiver.url, webhook_backoff=FAST_BACKOFF, webhook_duplicate_rate=1.0) as sim:
        call_id = place(sim, "+2348031234560")
        sim.advance(call_id)
        sim.advance(call_id)
        assert sim.wait_for_deliveries(5)
    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body
    first, second = (r.headers["Cloove-Webhook-Id"] for r in receiver.received)
    assert first == second


def test_no_webhook_url_records_events_without_delivering(simulator):
    call_id = place(simulator, "+2348031234560")
    simulator.advance(call_id)
    simulator.advance(call_id)
    assert simulator.deliveries() == []
    assert [e["type"] for e in simulator.events()][-1] == "vox.call.started"


def test_webhook_can_be_pointed_elsewhere_over_http(simulator, api, receiver):
    api.post("/_simulator/webhook", json={"url": receiver.url, "secret": "whsec_runtime"})
    call_id = place(simulator, "+2348031234560")
    simulator.advance(call_id)
    simulator.advance(call_id)
    assert simulator.wait_for_deliveries(5)
    verify("whsec_runtime", receiver.received[0].headers["Cloove-Signature"], receiver.received[0].body)


def test_agent_updated_event(receiver):
    with running(webhook_url=receiver.url, webhook_backoff=FAST_BACKOFF) as sim, api_client(sim) as http:
        agent = next(a for a in http.get("/v1/vox/agents").json()["data"] if not a["isDefault"])
        changes = {"status": "inactive", "isDefault": True}
        response = http.post(f"/_simulator/agents/{agent['id']}", json=changes)
        assert response.status_code == 200
        agents = {a["id"]: a for a in http.get("/v1/vox/agents").json()["data"]}
        assert agents[agent["id"]]["status"] == "inactive"
        assert [a["isDefault"] for a in agents.values()].count(True) == 1
        assert sim.wait_for_deliveries(5)
        assert http.post("/_simulator/agents/nope", json={}).status_code == 404
    (item,) = receiver.received
    assert item.event["type"] == "vox.agent.updated"
    assert item.event["data"]["id"] == agent["id"] and item.event["data"]["status"] == "inactive"


def test_recording_is_a_valid_wav(simulator):
    call_id = place(simulator, "+2348031234560")
    for _ in range(3):
        events = simulator.advance(call_id)
    url = events[-1]["data"]["recordingUrl"]
    response = httpx.get(url, headers={"User-Agent": USER_AGENT})  # no API key needed
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert 1.5 <= seconds <= 3
    assert httpx.get(f"{simulator.base_url}/recordings/unknown.wav").status_code == 404
