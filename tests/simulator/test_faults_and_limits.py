"""Rate limiting and every injected fault, as a api sees them over HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from vox_simulator import keys

from .conftest import api_client, call_body, running


def test_rate_limit_429_with_retry_after_then_recovery():
    with running(rate_limit=5, rate_limit_window_seconds=1.0) as sim, api_client(sim) as http:
        for _ in range(5):
            ok = http.get("/v1/vox/health")
            assert ok.status_code == 200
            assert ok.headers["x-ratelimit-limit"] == "5"
        limited = http.get("/v1/vox/health")
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert isinstance(limited.json()["message"], str)
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["x-ratelimit-limit"] == "5"
        time.sleep(1.05)
        assert http.get("/v1/vox/health").status_code == 200
        assert sim.stats()["rate_limited"] == 1


def test_rate_limit_is_per_key_and_shared_by_endpoints():
    with running(rate_limit=3) as sim, api_client(sim) as demo, api_client(sim, keys.LIVE_KEY) as live:
        demo.get("/v1/vox/health")
        demo.get("/v1/vox/numbers")
        demo.get("/v1/vox/calls")
        response = demo.get("/v1/vox/agents")
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert live.get("/v1/vox/agents").status_code == 200


def test_no_rate_limit_when_lifted():
    with running(rate_limit=None) as sim, api_client(sim) as http:
        for _ in range(30):
            response = http.get("/v1/vox/health")
            assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers


def test_control_and_recordings_are_not_counted():
    with running(rate_limit=1) as sim, api_client(sim) as http:
        call_id = http.get("/v1/vox/calls", params={"limit": 1}).json()["data"][0]["id"]
        for _ in range(3):
            assert http.get("/_simulator/state").status_code == 200
            assert http.get(f"/recordings/{call_id}.wav").status_code == 200
        assert http.get("/v1/vox/health").status_code == 429


def test_queued_status_with_contract_body_and_retry_after(simulator, api):
    simulator.faults.queue(503, count=2, retry_after=2)
    for _ in range(2):
        response = api.get("/v1/vox/calls")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        assert set(response.json()) == {"error", "message"}
    assert api.get("/v1/vox/calls").status_code == 200


def test_queued_fault_with_verbatim_html_body(simulator, api):
    simulator.faults.queue(502, body="<html><body>Bad gateway</body></html>")
    response = api.get("/v1/vox/health")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "<html><body>Bad gateway</body></html>"


def test_queued_fault_matches_path_and_method(simulator, api):
    simulator.faults.queue(500, path="/v1/vox/calls", method="POST")
    assert api.get("/v1/vox/calls").status_code == 200
    assert api.get("/v1/vox/numbers").status_code == 200
    assert api.post("/v1/vox/calls", json=call_body(simulator)).status_code == 500
    assert simulator.stats()["dialed"] == 0
    assert api.post("/v1/vox/calls", json=call_body(simulator)).status_code == 201


def test_queued_429_looks_like_the_rate_limiter(simulator, api):
    simulator.faults.queue(429, retry_after=7)
    response = api.get("/v1/vox/health")
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert response.headers["retry-after"] == "7"


def test_queued_422_has_details(simulator, api):
    simulator.faults.queue(422)
    body = api.post("/v1/vox/calls", json=call_body(simulator)).json()
    assert body["error"] == "validation_error" and body["details"] == []


def test_reset_next_closes_the_connection_without_a_response(simulator, api):
    simulator.faults.reset_next(path="/v1/vox/health")
    with pytest.raises(httpx.TransportError):
        api.get("/v1/vox/health")
    assert api.get("/v1/vox/health").status_code == 200


def test_reset_next_counts(simulator, api):
    simulator.faults.reset_next(count=2)
    for _ in range(2):
        with pytest.raises(httpx.RemoteProtocolError):
            api.get("/v1/vox/numbers")
    assert api.get("/v1/vox/numbers").status_code == 200


def test_lose_response_next_dials_but_answers_nothing(simulator, api):
    simulator.faults.lose_response_next()
    with pytest.raises(httpx.TransportError):
        api.post("/v1/vox/calls", json=call_body(simulator))
    assert simulator.stats()["dialed"] == 1
    assert api.get("/v1/vox/calls", params={"limit": 1}).json()["data"][0]["status"] == "queued"
    assert api.post("/v1/vox/calls", json=call_body(simulator)).status_code == 201  # only the next one


def test_latency(simulator, api):
    api.get("/v1/vox/health")
    simulator.faults.latency_ms = 150
    started = time.perf_counter()
    assert api.get("/v1/vox/health").status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_rate_limit_storm(simulator, api):
    simulator.faults.rate_limit_storm(0.3)
    response = api.get("/v1/vox/health")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert api.get("/v1/vox/calls").status_code == 429
    time.sleep(0.35)
    assert api.get("/v1/vox/health").status_code == 200


def test_rate_limit_storm_without_retry_after(simulator, api):
    simulator.faults.rate_limit_storm(5, retry_after=False)
    response = api.get("/v1/vox/health")
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    simulator.faults.clear()
    assert api.get("/v1/vox/health").status_code == 200


def test_error_rate(simulator, api):
    simulator.faults.error_rate = 0.5
    statuses = [api.get("/v1/vox/health").status_code for _ in range(40)]
    assert set(statuses) - {200} <= {500, 502, 503, 504}
    assert 5 <= sum(s >= 500 for s in statuses) <= 35
    simulator.faults.error_rate = 0.0
    assert all(api.get("/v1/vox/health").status_code == 200 for _ in range(5))


def test_clear_removes_everything(simulator, api):
    simulator.faults.queue(500, count=10)
    simulator.faults.reset_next(count=10)
    simulator.faults.latency_ms = 500
    simulator.faults.clear()
    started = time.perf_counter()
    assert api.get("/v1/vox/health").status_code == 200
    assert time.perf_counter() - started < 0.4


def test_faults_over_http(simulator, api):
    response = api.post("/_simulator/faults", json={"queue": {"status": 500, "count": 2}})
    assert response.status_code == 200
    assert response.json()["queued"][0]["remaining"] == 2
    assert [api.get("/v1/vox/health").status_code for _ in range(2)] == [500, 500]
    api.post("/_simulator/faults", json={"reset_next": 1})
    with pytest.raises(httpx.TransportError):
        api.get("/v1/vox/health")
    api.post("/_simulator/faults", json={"clear": True})
    assert api.get("/v1/vox/health").status_code == 200
    api.post("/_simulator/faults", json={"rate_limit_storm": {"seconds": 5, "retry_after": False}})
    assert api.get("/v1/vox/health").status_code == 429
    api.post("/_simulator/faults", json={"clear": True, "processing_ms": 10})
    assert api.get("/_simulator/state").json()["faults"]["processing_ms"] == 10
    assert api.post("/_simulator/faults", json={"queue": {"bogus": 1}}).status_code == 400


def test_faults_do_not_touch_the_control_api(simulator, api):
    simulator.faults.queue(500, count=5)
    simulator.faults.rate_limit_storm(5)
    assert api.get("/_simulator/state").status_code == 200
