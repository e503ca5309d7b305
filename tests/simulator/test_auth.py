"""Keys, scopes, the edge's User-Agent rule, and the generic 400/404/405 answers."""

from __future__ import annotations

import httpx
import pytest

from vox_simulator import keys

from .conftest import api_client, call_body, running

READ_ENDPOINTS = ["/v1/vox/health", "/v1/vox/calls", "/v1/vox/numbers", "/v1/vox/agents"]


def test_key_constants_have_the_vendor_format():
    constants = [
        keys.DEMO_KEY,
        keys.LIVE_KEY,
        keys.READ_ONLY_KEY,
        keys.NUMBERS_ONLY_KEY,
        keys.EXPIRED_KEY,
        keys.PUBLISHABLE_KEY,
        keys.IP_BLOCKED_KEY,
        keys.ORIGIN_BLOCKED_KEY,
    ]
    assert len(set(constants)) == len(constants)
    for key in constants:
        assert keys.KEY_PATTERN.match(key), key
    assert keys.PUBLISHABLE_KEY.startswith("clv_test_pk_")
    assert keys.LIVE_KEY.startswith("clv_live_sk_")
    assert keys.DEMO_WEBHOOK_SECRET.startswith("whsec_")


def test_health_reports_environment_business_and_key(simulator):
    with api_client(simulator) as test, api_client(simulator, keys.LIVE_KEY) as live:
        test_body, live_body = test.get("/v1/vox/health").json(), live.get("/v1/vox/health").json()
    assert test_body["message"] == "Vox API ready"
    assert test_body["data"]["environment"] == "test"
    assert live_body["data"]["environment"] == "live"
    assert test_body["data"]["businessId"] == live_body["data"]["businessId"]
    assert test_body["data"]["keyId"] != live_body["data"]["keyId"]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_missing_key_is_401(simulator, path):
    with api_client(simulator, key=None) as http:
        response = http.get(path)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_api_key"
    assert isinstance(response.json()["message"], str)


@pytest.mark.parametrize("header", ["Bearer clv_test_sk_nope", "Bearer", "Basic abc", keys.DEMO_KEY])
def test_malformed_or_unknown_key_is_401(simulator, header):
    with api_client(simulator, key=None, Authorization=header) as http:
        response = http.get("/v1/vox/health")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_api_key"


@pytest.mark.parametrize(
    "key, status, code",
    [
        (keys.PUBLISHABLE_KEY, 401, "invalid_api_key"),
        (keys.EXPIRED_KEY, 401, "expired_api_key"),
        (keys.IP_BLOCKED_KEY, 403, "ip_not_allowed"),
        (keys.ORIGIN_BLOCKED_KEY, 403, "origin_not_allowed"),
    ],
)
def test_refused_keys(simulator, key, status, code):
    with api_client(simulator, key) as http:
        for path in READ_ENDPOINTS:
            response = http.get(path)
            assert response.status_code == status
            body = response.json()
            assert set(body) == {"error", "message"}
            assert body["error"] == code


def test_read_only_key_reads_everything_but_cannot_place_calls(simulator):
    with api_client(simulator, keys.READ_ONLY_KEY) as http:
        for path in READ_ENDPOINTS:
            assert http.get(path).status_code == 200, path
        response = http.post("/v1/vox/calls", json=call_body(simulator))
    assert response.status_code == 403
    assert response.json() == {
        "error": "missing_scope",
        "message": "Missing required scope: vox:calls:create",
    }
    assert simulator.stats()["dialed"] == 0


def test_numbers_only_key(simulator):
    with api_client(simulator, keys.NUMBERS_ONLY_KEY) as http:
        assert http.get("/v1/vox/numbers").status_code == 200
        expected = {
            "/v1/vox/health": "vox:read",
            "/v1/vox/calls": "vox:calls:read",
            "/v1/vox/agents": "vox:agents:read",
        }
        for path, scope in expected.items():
            response = http.get(path)
            assert response.status_code == 403
            assert response.json() == {
                "error": "missing_scope",
                "message": f"Missing required scope: {scope}",
            }


def test_added_key_with_specific_scopes(simulator):
    custom = "clv_test_sk_" + "A1" * 16
    simulator.add_key(custom, scopes=["vox:calls:read", "vox:calls:create"])
    with api_client(simulator, custom) as http:
        assert http.get("/v1/vox/calls").status_code == 200
        assert http.post("/v1/vox/calls", json=call_body(simulator)).status_code == 201
        assert http.get("/v1/vox/agents").status_code == 403
        assert http.get("/v1/vox/health").json()["message"] == "Missing required scope: vox:read"


@pytest.mark.parametrize("agent", ["", "python-httpx/0.28.1", "python-requests/2.32.3", "curl/8.5.0"])
def test_default_user_agents_get_the_edge_html_403(simulator, agent):
    headers = {"Authorization": f"Bearer {keys.DEMO_KEY}", "User-Agent": agent}
    response = httpx.get(f"{simulator.base_url}/v1/vox/health", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_user_agent_rule_can_be_switched_off():
    with running(reject_default_user_agents=False) as sim:
        headers = {"Authorization": f"Bearer {keys.DEMO_KEY}"}  # and httpx's own User-Agent
        response = httpx.get(f"{sim.base_url}/v1/vox/health", headers=headers)
    assert response.status_code == 200


def test_unknown_path_is_json_404(api):
    response = api.get("/v1/vox/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    "method, path",
    [
        ("DELETE", "/v1/vox/calls"),
        ("POST", "/v1/vox/numbers"),
        ("PUT", "/v1/vox/agents"),
        ("POST", "/v1/vox/health"),
    ],
)
def test_wrong_method_is_405(api, method, path):
    response = api.request(method, path)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


def test_unauthenticated_requests_are_not_rate_limited():
    with running(rate_limit=2) as sim, api_client(sim, key="clv_test_sk_" + "x" * 32) as bad:
        for _ in range(5):
            assert bad.get("/v1/vox/health").status_code == 401
        with api_client(sim) as good:
            assert good.get("/v1/vox/health").status_code == 200


def test_responses_are_utf8_json(api):
    response = api.get("/v1/vox/calls", params={"search": "Zoë"})
    assert "charset=utf-8" in response.headers["content-type"]
    assert "Zoë".encode() in response.content  # raw UTF-8, not \u escapes
