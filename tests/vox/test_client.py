"""The client against the Vox simulator over real HTTP: endpoints, errors, retries, idempotency."""

import logging
import socket
import threading
import time
import uuid
from datetime import UTC

import pytest

from vox_simulator import keys
from voxdash.vox import VoxClient, errors, types

CALLS = "/v1/vox/calls"
HEALTH = "/v1/vox/health"


@pytest.fixture
def waits():
    """Every backoff the client asked for, instead of sleeping it."""
    return []


@pytest.fixture
def make_client(simulator, waits):
    made = []

    def make(key=keys.DEMO_KEY, **kwargs):
        kwargs.setdefault("sleep", waits.append)
        client = VoxClient(simulator.base_url, key, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()


def hits(simulator, method, path):
    return simulator.stats()["requests_by_route"].get(f"{method} {path}", 0)


def call_request(client, phone="+2348031234560", **changes):
    number = next(n for n in client.list_numbers() if n.can_place_calls)
    agent = next(a for a in client.list_agents() if a.is_active)
    fields = {
        "customer_phone": phone,
        "customer_name": "Ada Lovelace",
        "purpose": "payment_reminder",
        "context": "Remind the customer about invoice INV-2026-001.",
        "business_voice_number_id": number.id,
        "ai_agent_id": agent.id,
    }
    return types.CallRequest(**{**fields, **changes})


# --- endpoints and parsing
def test_health(client):
    health = client.health()
    assert health.environment == "test" and health.is_test
    assert health.business_id and health.key_id
    assert health.latency_ms > 0 and client.last_latency_ms > 0


def test_health_with_a_live_key(make_client):
    assert make_client(keys.LIVE_KEY).health().environment == "live"


def test_list_calls_parses_rows_and_meta(client):
    page = client.list_calls()
    assert len(page.calls) == 20
    assert page.meta == types.PageMeta(total=300, page=1, per_page=20, total_pages=15, has_more=True)
    for call in page.calls:
        assert call.created_at.tzinfo is UTC
        assert call.started_at is None or call.started_at.tzinfo is UTC
        assert call.direction in ("inbound", "outbound")
        assert call.status in types.KNOWN_STATUSES
    created = [c.created_at for c in page.calls]
    assert created == sorted(created, reverse=True)  # newest first


def test_some_calls_have_null_fields(client):
    calls = [c for p in client.iter_calls() for c in p.calls]
    unfinished = [c for c in calls if not c.is_terminal]
    assert unfinished, "the seed should include calls still in progress"
    assert any(c.ended_at is None and c.duration_seconds is None for c in unfinished)
    assert any(c.customer_name is None for c in calls)


def test_list_calls_filters(client):
    completed = client.list_calls(status="completed", limit=100)
    assert completed.calls and all(c.status == "completed" for c in completed.calls)
    inbound = client.list_calls(direction="inbound", limit=100)
    assert inbound.calls and all(c.direction == "inbound" for c in inbound.calls)
    assert inbound.meta.total < 300
    name = next(c.customer_name for c in client.list_calls().calls if c.customer_name)
    found = client.list_calls(search=name.split()[0])
    assert found.calls and all(
        name.split()[0].lower() in (c.customer_name or "").lower() for c in found.calls
    )


def test_limit_above_the_cap_is_clamped(client):
    page = client.list_calls(limit=500)
    assert len(page.calls) == types.MAX_PAGE_SIZE == page.meta.per_page


def test_page_past_the_end_is_empty(client):
    page = client.list_calls(page=99)
    assert page.calls == () and page.meta.has_more is False


def test_iter_calls_walks_every_page_once(client, simulator):
    pages = list(client.iter_calls())
    assert [p.meta.page for p in pages] == [1, 2, 3]
    ids = [c.id for p in pages for c in p.calls]
    assert len(ids) == len(set(ids)) == 300
    assert hits(simulator, "GET", CALLS) == 3


def test_iter_calls_with_a_filter(client):
    total = client.list_calls(status="completed").meta.total
    assert sum(len(p.calls) for p in client.iter_calls(status="completed", limit=25)) == total


def test_list_numbers(client):
    numbers = client.list_numbers()
    assert numbers and all(n.phone_number.startswith("+") for n in numbers)
    assert any(n.can_place_calls for n in numbers)
    assert all(n.created_at is None or n.created_at.tzinfo is UTC for n in numbers)


def test_list_agents(client):
    agents = client.list_agents()
    assert agents and sum(a.is_default for a in agents) == 1
    assert any(a.is_active for a in agents)


def test_place_call(client, simulator):
    request = call_request(client)
    placed = client.place_call(request, idempotency_key=str(uuid.uuid4()))
    assert placed.status == "queued" and placed.replayed is False
    assert placed.customer_phone == request.customer_phone and placed.purpose == "payment_reminder"
    assert placed.created_at.tzinfo is UTC
    assert simulator.stats()["dialed"] == 1
    listed = client.list_calls(direction="outbound", search=request.customer_phone).calls
    assert listed[0].id == placed.id and listed[0].status == "queued" and listed[0].started_at is None


def test_same_key_same_body_is_replayed_not_redialed(client, simulator):
    request, key = call_request(client), str(uuid.uuid4())
    first = client.place_call(request, idempotency_key=key)
    again = client.place_call(request, idempotency_key=key)
    assert again.replayed is True and again.id == first.id
    assert simulator.stats()["dialed"] == 1


# --- errors by key
@pytest.mark.parametrize(
    "key,error,code",
    [
        (keys.EXPIRED_KEY, errors.ExpiredApiKey, "expired_api_key"),
        (keys.PUBLISHABLE_KEY, errors.InvalidApiKey, "invalid_api_key"),
        ("clv_test_sk_" + "x" * 32, errors.InvalidApiKey, "invalid_api_key"),
        (keys.IP_BLOCKED_KEY, errors.IpNotAllowed, "ip_not_allowed"),
        (keys.ORIGIN_BLOCKED_KEY, errors.OriginNotAllowed, "origin_not_allowed"),
    ],
)
def test_refused_keys(make_client, waits, key, error, code):
    with pytest.raises(error) as info:
        make_client(key).health()
    assert info.value.code == code and info.value.status in (401, 403)
    assert not info.value.retryable and waits == []
    assert key not in str(info.value) and key not in repr(info.value)


def test_numbers_only_key_lacks_read_scope(make_client):
    client = make_client(keys.NUMBERS_ONLY_KEY)
    assert client.list_numbers()
    with pytest.raises(errors.MissingScope) as info:
        client.list_agents()
    assert info.value.scope == "vox:agents:read" and "vox:agents:read" in info.value.hint


def test_read_only_key_cannot_place_calls(make_client, simulator):
    client = make_client(keys.READ_ONLY_KEY)
    assert client.list_calls().calls and client.health()
    with pytest.raises(errors.MissingScope) as info:
        client.place_call(call_request(client), idempotency_key=str(uuid.uuid4()))
    assert info.value.scope == "vox:calls:create"
    assert simulator.stats()["dialed"] == 0


def test_validation_error_has_field_details(client, waits, simulator):
    request = call_request(client, phone="12345", context="")
    with pytest.raises(errors.VoxValidationError) as info:
        client.place_call(request, idempotency_key=str(uuid.uuid4()))
    assert info.value.status == 422
    assert "customer_phone" in info.value.field_errors
    assert all(isinstance(d, errors.FieldError) for d in info.value.details)
    assert waits == [] and hits(simulator, "POST", CALLS) == 1
    assert simulator.stats()["dialed"] == 0


def test_unknown_agent_is_a_validation_error(client):
    with pytest.raises(errors.VoxValidationError):
        client.place_call(
            call_request(client, ai_agent_id=str(uuid.uuid4())), idempotency_key=str(uuid.uuid4())
        )


def test_key_reused_with_another_body_is_a_conflict_not_retried(client, waits, simulator):
    key = str(uuid.uuid4())
    client.place_call(call_request(client), idempotency_key=key)
    with pytest.raises(errors.IdempotencyKeyReused) as info:
        client.place_call(call_request(client, purpose="something_else"), idempotency_key=key)
    assert info.value.status == 409 and not info.value.retryable
    assert waits == [] and hits(simulator, "POST", CALLS) == 2
    assert simulator.stats()["dialed"] == 1


def test_html_403_from_the_edge(client, simulator):
    simulator.faults.queue(403, body="<html><body>Access denied</body></html>", path=HEALTH)
    with pytest.raises(errors.EdgeRejected) as info:
        client.health()
    assert info.value.status == 403 and "User-Agent" in info.value.hint


def test_default_library_user_agent_is_rejected_by_the_edge(make_client, waits):
    # The real edge answers python-httpx/* with its own 403 page; ours must pass.
    assert make_client().health()
    with pytest.raises(errors.EdgeRejected):
        make_client(user_agent="python-httpx/0.28.1").health()
    assert waits == []


def test_a_key_echoed_by_the_server_is_redacted(client, simulator, caplog):
    body = {"error": "invalid_api_key", "message": f"Invalid API key {keys.DEMO_KEY}"}
    simulator.faults.queue(401, body=body, path=HEALTH)
    with pytest.raises(errors.InvalidApiKey) as info:
        client.health()
    assert "clv_test_sk_…" in str(info.value)
    for text in (str(info.value), repr(info.value), info.value.hint, caplog.text):
        assert keys.DEMO_KEY not in text


def test_unknown_code_falls_back_to_the_status_class(client, simulator):
    simulator.faults.queue(403, body={"error": "account_suspended", "message": "Suspended"}, path=HEALTH)
    with pytest.raises(errors.VoxForbidden) as info:
        client.health()
    assert type(info.value) is errors.VoxForbidden
    assert (info.value.code, info.value.message) == ("account_suspended", "Suspended")


def test_other_4xx_is_a_bad_request_with_its_status(client, simulator, waits):
    simulator.faults.queue(405, body="Method Not Allowed", path=HEALTH)
    with pytest.raises(errors.VoxBadRequest) as info:
        client.health()
    assert info.value.status == 405 and waits == []


def test_404_is_not_found(client, simulator):
    simulator.faults.queue(404, path=HEALTH)
    with pytest.raises(errors.VoxNotFound):
        client.health()


def test_400_is_a_bad_request(client, simulator, waits):
    simulator.faults.queue(400, path=CALLS)
    with pytest.raises(errors.VoxBadRequest) as info:
        client.list_calls()
    assert info.value.status == 400 and waits == []


@pytest.mark.parametrize(
    "body",
    [
        "<html>Welcome to nginx</html>",
        "",
        [1, 2],
        {"message": "ok"},  # no data
        {"message": "ok", "data": {"not": "a list"}},
        {"message": "ok", "data": [{"id": "c1"}]},  # a row missing required fields
    ],
    ids=["html", "empty", "array", "no-data", "data-not-list", "bad-row"],
)
def test_unusable_success_bodies_are_bad_responses(client, simulator, waits, body):
    simulator.faults.queue(200, body=body, path=CALLS)
    with pytest.raises(errors.VoxBadResponse):
        client.list_calls()
    assert waits == [] and hits(simulator, "GET", CALLS) == 1  # retrying would not change the body


# --- retries
def test_429_with_retry_after_then_success(client, waits, simulator):
    simulator.faults.queue(429, retry_after=2, path=HEALTH)
    assert client.health()
    assert waits == [2.0]
    assert hits(simulator, "GET", HEALTH) == 2


def test_429_without_retry_after_backs_off_with_jitter(make_client, waits, simulator):
    simulator.faults.queue(429, count=2, path=HEALTH)
    assert make_client(backoff_base=0.5).health()
    assert len(waits) == 2
    assert 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 1.0


def test_retry_after_over_the_max_wait_raises_at_once(make_client, waits, simulator):
    simulator.faults.queue(429, retry_after=30, path=HEALTH)
    with pytest.raises(errors.VoxRateLimited) as info:
        make_client(max_retry_wait=5).health()
    assert info.value.retry_after == 30 and info.value.retryable
    assert "30 s" in info.value.hint
    assert waits == [] and hits(simulator, "GET", HEALTH) == 1


def test_429_exhausted(make_client, waits, simulator):
    simulator.faults.queue(429, count=5, retry_after=1, path=HEALTH)
    with pytest.raises(errors.VoxRateLimited):
        make_client(max_retries=2).health()
    assert waits == [1.0, 1.0] and hits(simulator, "GET", HEALTH) == 3


def test_backoff_grows_and_is_capped(make_client, waits, simulator, monkeypatch):
    monkeypatch.setattr("voxdash.vox.client.random.uniform", lambda low, high: high)  # the jitter's ceiling
    simulator.faults.queue(503, count=5, path=HEALTH)
    assert make_client(max_retries=5, backoff_base=0.25, backoff_cap=1.0).health()
    assert waits == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_5xx_then_success(client, waits, simulator):
    simulator.faults.queue(500, path=HEALTH)
    simulator.faults.queue(503, path=HEALTH)
    assert client.health().environment == "test"
    assert len(waits) == 2 and hits(simulator, "GET", HEALTH) == 3


def test_5xx_exhausted_after_exactly_one_plus_max_retries(make_client, waits, simulator):
    simulator.faults.queue(503, count=10, path=HEALTH)
    with pytest.raises(errors.VoxUnavailable) as info:
        make_client(max_retries=3).health()
    assert info.value.status == 503 and info.value.retryable
    assert hits(simulator, "GET", HEALTH) == 4 and len(waits) == 3


def test_max_retries_zero_means_one_attempt(make_client, waits, simulator):
    simulator.faults.queue(503, count=2, path=HEALTH)
    with pytest.raises(errors.VoxUnavailable):
        make_client(max_retries=0).health()
    assert hits(simulator, "GET", HEALTH) == 1 and waits == []


def test_html_502_from_a_gateway(make_client, simulator):
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    simulator.faults.queue(502, count=2, body=html, path=HEALTH)
    with pytest.raises(errors.VoxUnavailable) as info:
        make_client(max_retries=1).health()
    assert info.value.status == 502 and "<html>" not in str(info.value)


def test_empty_502_is_unavailable_and_retried(make_client, waits, simulator):
    simulator.faults.queue(502, count=3, body="", path=HEALTH)
    with pytest.raises(errors.VoxUnavailable) as info:
        make_client(max_retries=2).health()
    assert info.value.status == 502 and len(waits) == 2


def test_501_is_unavailable_but_not_retried(client, waits, simulator):
    simulator.faults.queue(501, body={"error": "not_implemented", "message": "No"}, path=HEALTH)
    with pytest.raises(errors.VoxUnavailable) as info:
        client.health()
    assert (info.value.status, info.value.code) == (501, "not_implemented")
    assert waits == [] and hits(simulator, "GET", HEALTH) == 1


def test_503_retry_after_is_honoured(client, waits, simulator):
    simulator.faults.queue(503, retry_after=2, path=HEALTH)
    assert client.health()
    assert waits == [2.0]


def test_read_timeout(make_client, waits, simulator):
    simulator.faults.latency_ms = 300
    with pytest.raises(errors.VoxTimeout) as info:
        make_client(read_timeout=0.05, max_retries=1).health()
    assert info.value.retryable and info.value.status is None
    assert len(waits) == 1


def test_connection_reset_then_success(client, waits, simulator):
    simulator.faults.reset_next(path=HEALTH)
    assert client.health()
    assert len(waits) == 1


def test_connection_refused(waits):
    with socket.socket() as s:  # a port that was free a moment ago and has no listener now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = VoxClient(f"http://127.0.0.1:{port}", keys.DEMO_KEY, max_retries=2, sleep=waits.append)
    with pytest.raises(errors.VoxConnectionError) as info:
        client.health()
    assert info.value.retryable and len(waits) == 2
    assert keys.DEMO_KEY not in str(info.value)


# --- POST retries and idempotency
def test_post_without_idempotency_key_is_never_retried(client, waits, simulator):
    request = call_request(client)
    simulator.faults.reset_next(path=CALLS, method="POST")
    with pytest.raises(errors.VoxConnectionError):
        client.place_call(request, idempotency_key=None)
    simulator.faults.queue(503, path=CALLS, method="POST")
    with pytest.raises(errors.VoxUnavailable):
        client.place_call(request, idempotency_key=None)
    assert waits == [] and hits(simulator, "POST", CALLS) <= 2
    assert simulator.stats()["dialed"] == 0


def test_idempotent_post_survives_a_lost_response(client, waits, simulator):
    request = call_request(client)
    simulator.faults.lose_response_next()
    placed = client.place_call(request, idempotency_key=str(uuid.uuid4()))
    assert placed.replayed is True and placed.status == "queued"
    assert len(waits) == 1
    assert simulator.stats()["dialed"] == 1
    assert [c.id for c in client.list_calls(search=request.customer_phone).calls] == [placed.id]


def test_idempotent_post_retries_5xx(client, waits, simulator):
    simulator.faults.queue(503, path=CALLS, method="POST")
    placed = client.place_call(call_request(client), idempotency_key=str(uuid.uuid4()))
    assert placed.replayed is False and len(waits) == 1
    assert simulator.stats()["dialed"] == 1


def test_request_in_progress_then_success(client, waits, simulator):
    # Another worker is still processing this key: wait and ask again, get the original answer.
    body = {"error": "request_in_progress", "message": "A request with this key is in progress."}
    simulator.faults.queue(409, body=body, path=CALLS, method="POST")
    placed = client.place_call(call_request(client), idempotency_key=str(uuid.uuid4()))
    assert placed.status == "queued" and len(waits) == 1
    assert simulator.stats()["dialed"] == 1


def test_concurrent_posts_with_one_key_dial_once(make_client, simulator):
    """Two submissions of one form race; the second meets 409 request_in_progress, waits, and
    ends with the first one's call."""
    slept = []
    simulator.faults.processing_ms = 400
    first_client = make_client()
    request, key = call_request(first_client), str(uuid.uuid4())
    results = {}
    thread = threading.Thread(
        target=lambda: results.setdefault("first", first_client.place_call(request, idempotency_key=key))
    )
    thread.start()
    deadline = time.monotonic() + 2
    while hits(simulator, "POST", CALLS) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the first POST is inside the simulator, holding the key
    second = make_client(
        # Jittered waits may be tiny; sleep a fixed 0.2 s so six retries outlast the 0.4 s hold.
        max_retries=6,
        backoff_base=0.2,
        backoff_cap=0.3,
        sleep=lambda s: (slept.append(s), time.sleep(0.2)),
    )
    placed = second.place_call(request, idempotency_key=key)
    thread.join()
    assert placed.id == results["first"].id and placed.replayed is True
    assert slept, "the second request should have met request_in_progress"
    assert simulator.stats()["dialed"] == 1


def test_request_in_progress_exhausted_is_transient(make_client, simulator):
    body = {"error": "request_in_progress", "message": "In progress."}
    simulator.faults.queue(409, count=3, body=body, path=CALLS, method="POST")
    client = make_client(max_retries=1)
    with pytest.raises(errors.RequestInProgress) as info:
        client.place_call(call_request(client), idempotency_key=str(uuid.uuid4()))
    assert isinstance(info.value, errors.VoxTransientError) and isinstance(info.value, errors.VoxConflict)


# --- secrecy
def test_api_key_never_logged(make_client, simulator, caplog):
    caplog.set_level(logging.DEBUG, logger="voxdash.vox")
    simulator.faults.queue(429, path=HEALTH)
    client = make_client()
    client.health()
    client.list_calls(search="Ada")
    with pytest.raises(errors.ExpiredApiKey):
        make_client(keys.EXPIRED_KEY).health()
    lines = [r.getMessage() for r in caplog.records if r.name == "voxdash.vox"]
    assert any("GET /v1/vox/health -> 429" in line and "attempt=1" in line for line in lines)
    assert any("GET /v1/vox/health -> 200" in line and "attempt=2" in line for line in lines)
    assert any("-> 401" in line for line in lines)
    assert any("request_id=req_" in line for line in lines)
    assert not any("Ada" in line for line in lines)  # query strings hold customer data
    for secret in (keys.DEMO_KEY, keys.EXPIRED_KEY):
        assert secret not in caplog.text
        assert secret not in repr(client)
    assert "clv_test_sk_…" in repr(client)


def test_the_real_rate_limiter_is_surfaced_not_slept_through(client, waits, simulator):
    simulator.rate_limit = 2  # requests per minute per key; the third must wait most of a minute
    client.health()
    client.health()
    with pytest.raises(errors.VoxRateLimited) as info:
        client.health()
    assert info.value.retry_after is not None and info.value.retry_after > client.max_retry_wait
    assert waits == [] and hits(simulator, "GET", HEALTH) == 3
