"""POST /v1/vox/calls: validation, the queued call, and idempotency."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from vox_simulator import keys

from .conftest import api_client, call_body, running


def numbers_by_phone(sim) -> dict[str, dict]:
    return {n["phoneNumber"]: n for n in sim.store.list_numbers()}


def test_queued_call_is_returned_and_listed(simulator, api):
    response = api.post("/v1/vox/calls", json=call_body(simulator))
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Vox outbound call queued"
    data = body["data"]
    assert set(data) == {
        "id",
        "businessId",
        "customerPhone",
        "customerName",
        "purpose",
        "status",
        "createdAt",
    }
    assert data["status"] == "queued"
    assert data["customerPhone"] == "+2348031112220"
    assert data["customerName"] == "Adaeze Okonkwo"
    assert data["purpose"] == "payment_reminder"
    uuid.UUID(data["id"])

    newest = api.get("/v1/vox/calls", params={"limit": 1}).json()["data"][0]
    assert newest["id"] == data["id"]
    assert (newest["status"], newest["direction"]) == ("queued", "outbound")
    assert newest["startedAt"] is newest["endedAt"] is newest["durationSeconds"] is None
    assert newest["createdAt"] == data["createdAt"]
    assert api.get("/v1/vox/calls").json()["meta"]["total"] == 301
    assert simulator.stats()["dialed"] == 1


def test_customer_name_is_optional(simulator, api):
    body = call_body(simulator)
    del body["customer_name"]
    response = api.post("/v1/vox/calls", json=body)
    assert response.status_code == 201
    assert response.json()["data"]["customerName"] is None


def test_post_id_differs_from_the_listed_id_when_configured():
    with running(post_id_matches_list=False) as sim, api_client(sim) as http:
        placed = http.post("/v1/vox/calls", json=call_body(sim)).json()["data"]
        listed = http.get("/v1/vox/calls", params={"limit": 1}).json()["data"][0]
        assert placed["id"] != listed["id"]
        assert listed["customerPhone"] == placed["customerPhone"]
        assert listed["direction"] == "outbound" and listed["status"] == "queued"
        assert listed["createdAt"] >= placed["createdAt"]
        # Webhooks name the listed call, whichever id the simulator is asked to advance.
        events = sim.advance(placed["id"])
        assert events == []  # queued -> ringing emits nothing
        events = sim.advance(placed["id"])
        assert events[0]["data"]["callId"] == listed["id"]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"customer_phone": "08031234567"}, "customer_phone"),
        ({"customer_phone": "+0123456789"}, "customer_phone"),
        ({"customer_phone": "+234"}, "customer_phone"),
        ({"customer_phone": 2348031234567}, "customer_phone"),
        ({"customer_phone": None}, "customer_phone"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": "x" * 65}, "purpose"),
        ({"context": "   "}, "context"),
        ({"context": "x" * 2001}, "context"),
        ({"customer_name": "x" * 121}, "customer_name"),
        ({"business_voice_number_id": "not-a-uuid"}, "business_voice_number_id"),
        ({"business_voice_number_id": str(uuid.uuid4())}, "business_voice_number_id"),
        ({"ai_agent_id": str(uuid.uuid4())}, "ai_agent_id"),
        ({"ai_agent_id": None}, "ai_agent_id"),
    ],
)
def test_validation_errors_name_the_body_field(simulator, api, overrides, field):
    response = api.post("/v1/vox/calls", json=call_body(simulator, **overrides))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert [d["field"] for d in body["details"]] == [field]
    assert all(isinstance(d["message"], str) and d["message"] for d in body["details"])
    assert simulator.stats()["dialed"] == 0


@pytest.mark.parametrize("phone", ["+14155550123", "+2348170000001"])
def test_inactive_or_sms_only_numbers_cannot_place_calls(simulator, api, phone):
    number = numbers_by_phone(simulator)[phone]
    response = api.post("/v1/vox/calls", json=call_body(simulator, business_voice_number_id=number["id"]))
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "business_voice_number_id"


def test_inactive_agent_cannot_place_calls(simulator, api):
    inactive = next(a for a in simulator.store.list_agents() if a["status"] != "active")
    response = api.post("/v1/vox/calls", json=call_body(simulator, ai_agent_id=inactive["id"]))
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "ai_agent_id"


def test_every_missing_field_is_reported(api):
    response = api.post("/v1/vox/calls", json={})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["details"]}
    assert fields == {"customer_phone", "purpose", "context", "business_voice_number_id", "ai_agent_id"}


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"text"'])
def test_body_that_is_not_a_json_object_is_400(api, content):
    response = api.post("/v1/vox/calls", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_numbers_and_agents_are_listed_with_contract_fields(api):
    numbers = api.get("/v1/vox/numbers").json()
    assert numbers["message"] == "Vox numbers retrieved"
    assert len(numbers["data"]) == 5
    for number in numbers["data"]:
        assert set(number) == {
            "id",
            "phoneNumber",
            "country",
            "voiceCapable",
            "smsCapable",
            "status",
            "provider",
            "createdAt",
        }
    assert {n["country"] for n in numbers["data"]} >= {"NG", "GH", "US"}
    agents = api.get("/v1/vox/agents").json()
    assert agents["message"] == "Vox AI agents retrieved"
    assert [a["isDefault"] for a in agents["data"]].count(True) == 1
    assert {a["language"] for a in agents["data"]} == {"en", "yo", "ha", "fr"}
    assert any(a["status"] == "inactive" for a in agents["data"])
    for agent in agents["data"]:
        assert set(agent) == {
            "id",
            "name",
            "language",
            "voiceProvider",
            "voiceId",
            "persona",
            "isDefault",
            "status",
            "createdAt",
        }


def test_numbers_and_agents_ids_are_stable_across_seeds():
    with running(seed=1, calls=10) as a, running(seed=2, calls=10) as b:
        assert a.store.list_numbers() == b.store.list_numbers()
        assert a.store.list_agents() == b.store.list_agents()


# --- idempotency


def test_same_key_same_body_replays_without_dialing(simulator, api):
    key = str(uuid.uuid4())
    first = api.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
    again = api.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert "idempotency-replayed" not in first.headers
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()
    assert simulator.stats()["dialed"] == 1
    assert api.get("/v1/vox/calls").json()["meta"]["total"] == 301


def test_body_idempotency_key_is_not_part_of_the_body_comparison(simulator, api):
    key = str(uuid.uuid4())
    first = api.post("/v1/vox/calls", json=call_body(simulator, idempotency_key=key))
    again = api.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()
    assert simulator.stats()["dialed"] == 1


def test_same_key_other_body_is_409_reused(simulator, api):
    key = str(uuid.uuid4())
    api.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
    response = api.post(
        "/v1/vox/calls", json=call_body(simulator, purpose="other"), headers={"Idempotency-Key": key}
    )
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_reused"
    assert simulator.stats()["dialed"] == 1


def test_keys_are_scoped_per_api_key(simulator):
    key = str(uuid.uuid4())
    with api_client(simulator) as test, api_client(simulator, keys.LIVE_KEY) as live:
        a = test.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
        b = live.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
    assert a.json()["data"]["id"] != b.json()["data"]["id"]
    assert "idempotency-replayed" not in b.headers
    assert simulator.stats()["dialed"] == 2


def test_post_without_key_always_dials(simulator, api):
    for _ in range(3):
        assert api.post("/v1/vox/calls", json=call_body(simulator)).status_code == 201
    assert simulator.stats()["dialed"] == 3


def test_in_progress_key_is_409_then_replays(simulator):
    simulator.faults.processing_ms = 300
    key = str(uuid.uuid4())
    results: list[httpx.Response] = []

    def first() -> None:
        with api_client(simulator) as http:
            headers = {"Idempotency-Key": key}
            results.append(http.post("/v1/vox/calls", json=call_body(simulator), headers=headers))

    thread = threading.Thread(target=first)
    thread.start()
    try:
        with api_client(simulator) as http:
            time.sleep(0.1)
            second = http.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
            assert second.status_code == 409
            assert second.json()["error"] == "request_in_progress"
            thread.join()
            simulator.faults.processing_ms = 0
            third = http.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
    finally:
        thread.join()
    assert results[0].status_code == 201
    assert third.headers["idempotency-replayed"] == "true"
    assert third.json() == results[0].json()
    assert simulator.stats()["dialed"] == 1


def test_concurrent_posts_with_one_key_dial_once(simulator, api):
    simulator.faults.processing_ms = 50
    key = str(uuid.uuid4())
    barrier = threading.Barrier(8)
    outcomes: list[tuple[int, bool]] = []

    def post() -> None:
        barrier.wait()
        response = api.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
        outcomes.append((response.status_code, "idempotency-replayed" in response.headers))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 8
    assert simulator.stats()["dialed"] == 1
    assert outcomes.count((201, False)) == 1  # the one that dialed; the rest are 409 or replays
    assert set(outcomes) <= {(201, False), (201, True), (409, False)}


def test_lost_response_then_retry_with_same_key_is_replayed(simulator, api):
    simulator.faults.lose_response_next()
    key = str(uuid.uuid4())
    with pytest.raises(httpx.TransportError):
        api.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
    assert simulator.stats()["dialed"] == 1
    retry = api.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
    assert retry.status_code == 201
    assert retry.headers["idempotency-replayed"] == "true"
    assert simulator.stats()["dialed"] == 1
    listed = api.get("/v1/vox/calls", params={"limit": 1}).json()["data"][0]
    assert listed["id"] == retry.json()["data"]["id"]


def test_a_refused_request_does_not_burn_its_key(simulator, api):
    key = str(uuid.uuid4())
    bad = api.post(
        "/v1/vox/calls", json=call_body(simulator, customer_phone="0803"), headers={"Idempotency-Key": key}
    )
    assert bad.status_code == 422
    good = api.post("/v1/vox/calls", json=call_body(simulator), headers={"Idempotency-Key": key})
    assert good.status_code == 201 and "idempotency-replayed" not in good.headers


def test_idempotency_keys_expire_after_their_lifetime():
    with running(idempotency_ttl_seconds=0.05) as sim, api_client(sim) as http:
        key = str(uuid.uuid4())
        http.post("/v1/vox/calls", json=call_body(sim), headers={"Idempotency-Key": key})
        time.sleep(0.1)
        again = http.post("/v1/vox/calls", json=call_body(sim), headers={"Idempotency-Key": key})
        assert "idempotency-replayed" not in again.headers
        assert sim.stats()["dialed"] == 2
