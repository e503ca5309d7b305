"""Client behaviour the simulator cannot show: what goes on the wire, and success shapes the
simulator never produces (unknown fields and statuses, missing meta, a redirect). Everything else,
including every error status and broken body, is tested against the simulator in test_client.py."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from voxdash.vox import VoxClient, errors, types
from voxdash.vox.client import _retry_after

KEY = "clv_test_sk_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
CALL = {
    "id": "c1",
    "businessId": "b1",
    "direction": "inbound",
    "status": "completed",
    "customerPhone": "+2348012345678",
    "customerName": None,
    "durationSeconds": 3,
    "startedAt": "2026-01-15T10:00:00.000Z",
    "endedAt": "2026-01-15T10:00:03.000Z",
    "createdAt": "2026-01-15T10:00:00.000Z",
}


def mock(handler, base="https://vox.example", **kwargs):
    """A client over httpx.MockTransport that records every request it sends."""
    sent: list[httpx.Request] = []
    waits: list[float] = []

    def record(request):
        sent.append(request)
        return handler(request)

    client = VoxClient(base, KEY, transport=httpx.MockTransport(record), sleep=waits.append, **kwargs)
    return client, sent, waits


def ok(data, **extra):
    return httpx.Response(200, json={"message": "ok", "data": data, **extra})


def test_requests_carry_auth_user_agent_and_accept():
    client, sent, _ = mock(lambda r: ok({"businessId": "b", "environment": "test", "keyId": "k"}))
    client.health()
    (request,) = sent
    assert request.url == "https://vox.example/v1/vox/health"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("voxdash/")
    assert "python-httpx" not in request.headers["User-Agent"]


@pytest.mark.parametrize(
    "base,path",
    [("https://vox.example/", "/v1/vox/agents"), ("https://vox.example/proxy", "/proxy/v1/vox/agents")],
)
def test_base_url_may_have_a_trailing_slash_or_a_prefix(base, path):
    client, sent, _ = mock(lambda r: ok([]), base=base)
    client.list_agents()
    assert sent[0].url.path == path


def test_post_sends_json_and_the_idempotency_key():
    created = {
        "id": "r1",
        "customerPhone": "+2348012345678",
        "status": "queued",
        "createdAt": "2026-01-15T10:00:00.000Z",
    }
    client, sent, _ = mock(lambda r: httpx.Response(201, json={"data": created}))
    request = types.CallRequest("+2348012345678", "p", "c", "n1", "a1", customer_name="Ada")
    placed = client.place_call(request, idempotency_key="k-123")
    (post,) = sent
    assert post.method == "POST" and post.headers["Content-Type"] == "application/json"
    assert post.headers["Idempotency-Key"] == "k-123"
    assert json.loads(post.content) == request.to_body()
    assert placed.replayed is False and placed.status == "queued"


def test_post_without_key_sends_no_idempotency_header():
    client, sent, _ = mock(lambda r: httpx.Response(503))
    with pytest.raises(errors.VoxUnavailable):
        client.place_call(types.CallRequest("+1", "p", "c", "n", "a"), idempotency_key=None)
    assert "Idempotency-Key" not in sent[0].headers
    assert len(sent) == 1


def test_list_calls_omits_empty_filters_and_caps_limit():
    client, sent, _ = mock(
        lambda r: ok([], meta={"total": 0, "page": 1, "perPage": 100, "totalPages": 0, "hasMore": False})
    )
    client.list_calls(status="", search=None, direction="inbound", limit=500)
    assert dict(sent[0].url.params) == {"page": "1", "limit": "100", "direction": "inbound"}
    with pytest.raises(ValueError):
        client.list_calls(page=0)


def test_unknown_fields_and_statuses_are_tolerated():
    row = {**CALL, "status": "transferred", "recordingUrl": "https://x", "tags": ["vip"]}
    client, _, _ = mock(
        lambda r: ok(
            [row],
            meta={"total": 1, "page": 1, "perPage": 20, "totalPages": 1, "hasMore": False, "cursor": "abc"},
            extra="ignored",
        )
    )
    page = client.list_calls()
    assert page.calls[0].status == "transferred"
    assert page.calls[0].raw["tags"] == ["vip"]
    assert page.meta.total == 1


def test_calls_page_without_meta_is_derived():
    client, _, _ = mock(lambda r: ok([CALL, {**CALL, "id": "c2"}]))
    page = client.list_calls(page=2, limit=20)
    assert page.meta == types.PageMeta(total=22, page=2, per_page=20, total_pages=2, has_more=False)


def test_numbers_and_agents_accept_meta_or_none():
    number = {
        "id": "n1",
        "phoneNumber": "+2348012345678",
        "voiceCapable": True,
        "status": "active",
        "future": 1,
    }
    client, _, _ = mock(
        lambda r: ok([number], meta={"total": 1}) if r.url.path.endswith("numbers") else ok([])
    )
    assert client.list_numbers()[0].can_place_calls
    assert client.list_agents() == []


def test_iter_calls_stops_on_an_empty_page_even_if_the_server_says_more():
    def handler(request):
        page = int(request.url.params["page"])
        assert page <= 5, "the client kept paging past an empty page"
        rows = [{**CALL, "id": f"c{page}"}] if page <= 2 else []
        return ok(rows, meta={"page": page, "perPage": 1, "hasMore": True})

    client, sent, _ = mock(handler)
    pages = list(client.iter_calls(limit=1))
    assert [p.calls[0].id for p in pages] == ["c1", "c2"]
    assert len(sent) == 3


def test_redirect_is_not_followed():
    client, sent, _ = mock(lambda r: httpx.Response(301, headers={"Location": "https://elsewhere.example/"}))
    with pytest.raises(errors.VoxBadResponse, match="VOX_API_BASE_URL"):
        client.list_agents()
    assert len(sent) == 1


def test_no_key_configured_fails_without_a_request():
    sent = []
    client = VoxClient("https://vox.example", "", transport=httpx.MockTransport(lambda r: sent.append(r)))
    with pytest.raises(errors.InvalidApiKey, match="VOX_API_KEY"):
        client.health()
    assert sent == []


@pytest.mark.parametrize("base", ["api.clooveai.com", "ftp://api.clooveai.com", ""])
def test_base_url_must_be_http(base):
    with pytest.raises(ValueError):
        VoxClient(base, KEY)


@pytest.mark.parametrize(
    "value,expected",
    [("3", 3.0), ("1.5", 1.5), ("-4", 0.0), ("", None), ("soon", None), ("inf", None), ("nan", None)],
)
def test_retry_after_seconds(value, expected):
    headers = {"Retry-After": value} if value else {}
    assert _retry_after(httpx.Response(429, headers=headers)) == expected


def test_retry_after_http_date():
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = _retry_after(httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    assert 28 <= seconds <= 30
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert _retry_after(httpx.Response(429, headers={"Retry-After": past})) == 0.0


def test_retry_after_http_date_over_max_wait_raises_at_once():
    when = format_datetime(datetime.now(UTC) + timedelta(minutes=2), usegmt=True)
    client, sent, waits = mock(
        lambda r: httpx.Response(
            429, headers={"Retry-After": when}, json={"error": "rate_limited", "message": "Slow"}
        )
    )
    with pytest.raises(errors.VoxRateLimited) as info:
        client.list_numbers()
    assert len(sent) == 1 and waits == [] and info.value.retry_after > 100


def test_undecodable_body_is_a_bad_response():
    broken = httpx.ByteStream(b"not gzip")
    client, sent, waits = mock(
        lambda r: httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=broken)
    )
    with pytest.raises(errors.VoxBadResponse, match="undecodable"):
        client.health()
    assert len(sent) == 1 and waits == []
