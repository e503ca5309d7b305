"""GET /api/v1/calls and /calls/{id}: the mirror's calls, filtered as the history page filters
them (a bad filter refused, the field named), with what voxdash knows beyond Vox (who placed a
call, with which agent and number), and one call's webhook events in the order they happened."""

from datetime import UTC, datetime, timedelta

import pytest

from voxdash.api.scopes import CALLS_READ, DNC
from voxdash.calls.models import Call
from voxdash.directory.models import Agent, VoiceNumber
from voxdash.placements.models import PlacedCall
from voxdash.webhooks.models import WebhookEvent

from .test_auth import assert_error

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def call(vox_id, minutes_ago, **fields):
    created = NOW - timedelta(minutes=minutes_ago)
    defaults = {
        "direction": "outbound",
        "status": "completed",
        "customer_phone": "+2348012345678",
        "customer_name": f"Customer {vox_id}",
        "created_at": created,
    }
    return Call.objects.create(vox_id=vox_id, **{**defaults, **fields})


@pytest.fixture
def calls(db):
    Agent.objects.create(vox_id="agent-a", name="Ada", status="active")
    VoiceNumber.objects.create(vox_id="num-1", phone_number="+2348000000001", status="active")
    made = [
        call(
            "c1", 30, duration_seconds=125, started_at=NOW - timedelta(minutes=29),
            ended_at=NOW - timedelta(minutes=27), recording_url="https://rec.example/c1.wav",
        ),
        call("c2", 20, direction="inbound", status="no_answer", customer_name=""),
        call("c3", 10, status="failed", failure_reason="carrier said no"),
    ]  # fmt: skip
    PlacedCall.objects.create(
        username="api:CRM",
        payload={"ai_agent_id": "agent-a", "business_voice_number_id": "num-1"},
        payload_fingerprint="x",
        customer_phone="+2348012345678",
        outcome=PlacedCall.Outcome.QUEUED,
        vox_placement_id="c1",
        listed_call_id="c1",
    )
    # Vox refused this attempt: c2 was not placed by voxdash, whatever the attempt names.
    PlacedCall.objects.create(
        username="cal", payload={"ai_agent_id": "agent-a"}, payload_fingerprint="y",
        customer_phone="+2348012345678", outcome=PlacedCall.Outcome.REJECTED, vox_placement_id="c2",
    )  # fmt: skip
    return made


def ids(response):
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()["data"]]


def test_the_list_is_the_mirror_newest_first_with_what_voxdash_knows(api_for, calls):
    api = api_for(scopes=[CALLS_READ])
    response = api.get("/calls")
    assert ids(response) == ["c3", "c2", "c1"]
    body = response.json()
    assert {k: body[k] for k in ("page", "limit", "total", "total_is_lower_bound", "has_more")} == {
        "page": 1, "limit": 20, "total": 3, "total_is_lower_bound": False, "has_more": False,
    }  # fmt: skip
    c1 = body["data"][2]
    assert c1 == {
        "id": "c1",
        "direction": "outbound",
        "status": "completed",
        "customer_name": "Customer c1",
        "customer_phone": "+2348012345678",
        "agent_id": "agent-a",
        "agent_name": "Ada",
        "from_number_id": "num-1",
        "from_number": "+2348000000001",
        "created_at": "2026-11-20T11:30:00Z",
        "started_at": "2026-11-20T11:31:00Z",
        "ended_at": "2026-11-20T11:33:00Z",
        "duration_seconds": 125,
        "recording_url": "https://rec.example/c1.wav",
        "placed_by": "api:CRM",
    }
    c2 = body["data"][1]
    assert c2["customer_name"] is None and c2["placed_by"] is None and c2["agent_id"] is None
    assert datetime.fromisoformat(c2["created_at"]).utcoffset() == timedelta(0)  # with its offset


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"direction": "inbound"}, ["c2"]),
        ({"status": "failed"}, ["c3"]),
        ({"search": "c3"}, ["c3"]),
        ({"search": "0801 234"}, ["c3", "c2", "c1"]),  # a national form finds E.164, as the page
        ({"placed_by": "api:CRM"}, ["c1"]),
        ({"agent": "agent-a"}, ["c1"]),
        ({"from_number": "num-1", "duration_min": "100"}, ["c1"]),
        ({"created_after": "2026-11-20", "created_before": "2026-11-20"}, ["c3", "c2", "c1"]),
        ({"created_after": "2026-11-21"}, []),
        ({"hour": "11"}, ["c3", "c2", "c1"]),
    ],
)
def test_the_filters_are_the_historys(api_for, calls, params, expected):
    assert ids(api_for(scopes=[CALLS_READ]).get("/calls", params)) == expected


@pytest.mark.parametrize(
    "params, field",
    [
        ({"direction": "sideways"}, "direction"),
        ({"status": "DROP TABLE"}, "status"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_after": "1999-12-31"}, "created_after"),
        ({"created_after": "2026-11-21", "created_before": "2026-11-20"}, "created_before"),
        ({"agent": "agent-nobody"}, "agent"),
        ({"duration_min": "-1"}, "duration_min"),
        ({"hour": "24"}, "hour"),
        ({"limit": "101"}, "limit"),
        ({"page": "0"}, "page"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_field_not_dropped(api_for, calls, params, field):
    body = assert_error(api_for(scopes=[CALLS_READ]).get("/calls", params), 422, "validation_error")
    assert [d["field"] for d in body["details"]] == [field]
    assert body["details"][0]["message"]


def test_pages_and_the_capped_count(api_for, calls, monkeypatch):
    api = api_for(scopes=[CALLS_READ])
    second = api.get("/calls", {"limit": 2, "page": 2})
    assert ids(second) == ["c1"]
    assert second.json()["has_more"] is False and second.json()["total"] == 3
    assert api.get("/calls", {"limit": 2}).json()["has_more"] is True
    monkeypatch.setattr("voxdash.calls.mirror_query.MIRROR_COUNT_CAP", 2)
    capped = api.get("/calls", {"limit": 1})
    assert ids(capped) == ["c3"]
    assert capped.json()["total"] == 2 and capped.json()["total_is_lower_bound"] is True
    assert capped.json()["has_more"] is True


def test_one_call_with_its_events_in_the_order_they_happened(api_for, calls):
    def event(type_, minutes_ago, call_id="c1"):
        WebhookEvent.objects.create(
            event_id=f"evt_{type_}_{call_id}", event_type=type_, call_vox_id=call_id, raw_body="{}",
            created=NOW - timedelta(minutes=minutes_ago), outcome=WebhookEvent.Outcome.APPLIED,
        )  # fmt: skip

    # Received out of order, listed in Vox's order; another call's event is not listed.
    event("vox.recording.ready", 26)
    event("vox.call.started", 29)
    event("vox.call.completed", 27)
    event("vox.call.failed", 28, call_id="c3")
    response = api_for(scopes=[CALLS_READ]).get("/calls/c1")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["placed_by"] == "api:CRM" and body["agent_name"] == "Ada"
    assert body["failure_reason"] is None and body["recording_url"] == "https://rec.example/c1.wav"
    assert [e["type"] for e in body["events"]] == [
        "vox.call.started", "vox.call.completed", "vox.recording.ready",
    ]  # fmt: skip
    assert body["events"][0] == {
        "event_id": "evt_vox.call.started_c1",
        "type": "vox.call.started",
        "created": "2026-11-20T11:31:00Z",
        "received_at": body["events"][0]["received_at"],
        "outcome": "applied",
    }
    failed = api_for(scopes=[CALLS_READ]).get("/calls/c3").json()
    assert failed["failure_reason"] == "carrier said no" and failed["placed_by"] is None


def test_an_unknown_call_is_a_404_in_the_error_shape(api_for, calls):
    body = assert_error(api_for(scopes=[CALLS_READ]).get("/calls/nope"), 404, "not_found")
    assert "nope" in body["message"]


def test_reading_calls_needs_calls_read(api_for, calls):
    api = api_for(scopes=[DNC])
    for path in ("/calls", "/calls/c1"):
        body = assert_error(api.get(path), 403, "missing_scope")
        assert CALLS_READ in body["message"]


def test_reads_spend_nothing_of_voxs_budget(api_for, calls, vox_settings, simulator):
    # The mirror answers every read: not one request reaches Vox (its 120 a minute are the key's).
    api = api_for(scopes=[CALLS_READ])
    for path in ("/calls", "/calls/c1", "/numbers", "/agents", "/stats"):
        assert api.get(path).status_code == 200, path
    assert list(simulator.request_log) == []


@pytest.mark.parametrize("call_id", ["a%00b", "x" * 65])
def test_an_id_no_call_can_have_is_a_404_not_a_database_error(api_for, calls, call_id):
    assert_error(api_for(scopes=[CALLS_READ]).get(f"/calls/{call_id}"), 404, "not_found")


def test_a_page_past_any_reader_is_refused(api_for, calls):
    body = assert_error(api_for(scopes=[CALLS_READ]).get("/calls", {"page": 10**7}), 422, "validation_error")
    assert body["details"][0]["field"] == "page"


def test_a_post_to_no_route_is_a_404_not_a_csrf_refusal(api):
    # /campaigns/{id}/start takes a number: "abc" matches no route (Django's client enforces CSRF
    # only when asked to, as a browser's would).
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/campaigns/abc/start", headers={"Authorization": f"Bearer {api.raw}"})
    assert_error(response, 404, "not_found")
