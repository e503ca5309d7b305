"""Starting and stopping, the control API, and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vox_simulator import Simulator, keys

from .conftest import USER_AGENT, api_client, call_body, running

ROOT = Path(__file__).resolve().parents[2]


def test_start_and_stop_are_fast_and_free_the_port():
    started = time.perf_counter()
    sim = Simulator(port=0, lifecycle_step_seconds=0.5)
    sim.start()
    url = sim.base_url
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert httpx.get(f"{url}/_simulator/state").status_code == 200
    sim.stop()
    assert time.perf_counter() - started < 0.5
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/_simulator/state", timeout=1)


def test_stop_hangs_up_pooled_connections():
    sim = Simulator(port=0, lifecycle_step_seconds=None).start()
    http = api_client(sim)
    assert http.get("/v1/vox/health").status_code == 200  # leaves a kept-alive connection in the pool
    sim.stop()
    with pytest.raises(httpx.TransportError):
        http.get("/v1/vox/health")
    http.close()


def test_many_starts_and_stops():
    started = time.perf_counter()
    for _ in range(10):
        with Simulator(port=0, calls=50) as sim:
            assert sim.running
        assert not sim.running
    assert time.perf_counter() - started < 1.0


def test_base_url_needs_a_started_simulator():
    with pytest.raises(RuntimeError):
        Simulator(port=0).base_url  # noqa: B018


def test_stats_count_requests_by_path(simulator, api):
    api.get("/v1/vox/calls")
    api.get("/v1/vox/calls", params={"page": 2})
    api.get("/v1/vox/health")
    stats = simulator.stats()
    assert stats["requests"]["/v1/vox/calls"] == 2
    assert stats["requests"]["/v1/vox/health"] == 1
    assert stats["dialed"] == 0


def test_state_and_reset_over_http(simulator, api):
    api.post("/v1/vox/calls", json=call_body(simulator))
    simulator.faults.latency_ms = 5
    state = api.get("/_simulator/state").json()
    assert state["base_url"] == simulator.base_url
    assert state["stats"]["dialed"] == 1
    assert state["faults"]["latency_ms"] == 5
    assert api.post("/_simulator/reset").json() == {"ok": True}
    state = api.get("/_simulator/state").json()
    assert state["stats"]["dialed"] == 0 and state["faults"]["latency_ms"] == 0
    assert api.get("/v1/vox/calls").json()["meta"]["total"] == 300


def test_control_api_errors(api):
    assert api.get("/_simulator/nothing").status_code == 404
    assert api.get("/_simulator/reset").status_code == 405
    assert api.post("/_simulator/faults", content=b"{oops").status_code == 400


def test_control_api_needs_no_key_and_ignores_user_agent(simulator):
    response = httpx.get(f"{simulator.base_url}/_simulator/state")  # python-httpx UA, no key
    assert response.status_code == 200


def test_the_inbox_keeps_what_is_posted_to_it_until_a_reset(simulator):
    """A stand-in receiver for voxdash's event subscriptions (the demo's "CRM")."""
    inbox = f"{simulator.base_url}/_simulator/inbox"
    sent = httpx.post(inbox, content=b'{"id":"e1"}', headers={"Voxdash-Event-Id": "e1"})
    assert sent.status_code == 204
    assert httpx.post(inbox, content=b"not json").status_code == 204  # kept as received
    kept = httpx.get(inbox).json()
    assert [entry["body"] for entry in kept] == ['{"id":"e1"}', "not json"]
    assert kept[0]["headers"]["voxdash-event-id"] == "e1"
    httpx.post(f"{simulator.base_url}/_simulator/reset")
    assert httpx.get(inbox).json() == []


def test_add_key_over_http(simulator, api):
    new_key = "clv_live_sk_" + "Z9" * 16
    api.post("/_simulator/keys", json={"key": new_key, "scopes": ["vox:read"]})
    with api_client(simulator, new_key) as http:
        assert http.get("/v1/vox/health").json()["data"]["environment"] == "live"
        assert http.post("/v1/vox/calls", json=call_body(simulator)).status_code == 403


def test_rate_limit_can_change_at_runtime():
    with running(rate_limit=None) as sim, api_client(sim) as http:
        sim.rate_limit = 1
        assert http.get("/v1/vox/health").status_code == 200
        assert http.get("/v1/vox/health").status_code == 429


def test_command_line_prints_url_and_key_and_serves():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vox_simulator",
            "--port",
            "0",
            "--calls",
            "40",
            "--no-rate-limit",
            "--post-id-differs",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:"), first
        assert keys.DEMO_KEY in process.stdout.readline()
        headers = {"Authorization": f"Bearer {keys.DEMO_KEY}", "User-Agent": USER_AGENT}
        body = httpx.get(f"{url}/v1/vox/calls", headers=headers).json()
        assert body["meta"]["total"] == 40
        assert httpx.get(f"{url}/_simulator/state").json()["post_id_matches_list"] is False
    finally:
        process.terminate()
        assert process.wait(5) == 0


def test_root_is_a_landing_page_for_humans(simulator):
    response = httpx.get(f"{simulator.base_url}/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert keys.DEMO_KEY in response.text
