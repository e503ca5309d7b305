"""Hostile bodies and headers at POST /webhooks/vox/: each is a 4xx, or stored and marked failed, never a 500.

Run on PostgreSQL too (make test does): its text columns cannot hold NUL and jsonb refuses \\u0000,
which SQLite accepts, so most of these were 500s only there.
"""

import json
import time

import pytest
from django.test import Client

from vox_simulator.webhooks import signature_header
from voxdash.webhooks.models import RefusedDelivery, WebhookEvent

from .conftest import URL, body_of, call_data, deliver, event

pytestmark = pytest.mark.django_db
Outcome = WebhookEvent.Outcome


@pytest.fixture
def client():
    # A 500 must show as a status here, not as the view's exception re-raised into the test.
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


@pytest.fixture
def enqueued(monkeypatch):
    from voxdash.webhooks import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_event, "delay", lambda pk: sent.append(pk))
    return sent


def _refused(response, fragment: str) -> RefusedDelivery:
    assert response.status_code == 400, response.content[:300]
    assert fragment in response.json()["error"]
    assert WebhookEvent.objects.count() == 0
    return RefusedDelivery.objects.get()


def test_unsigned_body_with_a_nul_byte_is_refused_and_kept_readable(client):
    response = client.post(URL, b'{"id":"x\x00"}', content_type="application/json")
    refusal = _refused(response, "missing Cloove-Signature")
    # Kept for the log with the NUL shown as U+FFFD (PostgreSQL text cannot hold NUL); the size is the real one.
    assert refusal.body_excerpt == '{"id":"x\ufffd"}' and refusal.body_size == 11


def test_headers_with_nul_bytes_are_refused_and_kept_readable(client):
    payload = event("vox.call.started", call_data())
    response = client.post(
        URL,
        body_of(payload),
        content_type="application/json",
        headers={
            "Cloove-Signature": "t=1\x00,v1=00",
            "Cloove-Webhook-Id": "evt\x00",
            "Cloove-Webhook-Event": "vox.\x00",
        },
    )
    refusal = _refused(response, "timestamp")
    assert (refusal.claimed_event_id, refusal.claimed_type) == ("evt\ufffd", "vox.\ufffd")


def test_signed_delivery_whose_id_header_has_a_nul_is_refused(client, enqueued):
    payload = event("vox.call.started", call_data())
    refusal = _refused(
        deliver(client, payload, headers={"Cloove-Webhook-Id": payload["id"] + "\x00"}), "does not match"
    )
    assert refusal.claimed_event_id == payload["id"] + "\ufffd"
    assert enqueued == []


@pytest.mark.parametrize("created", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_signed_event_time_beyond_the_calendar_is_stored_without_it(client, enqueued, created):
    # Python's datetime cannot hold it in UTC (OverflowError). The event itself is Vox's and
    # usable: it is stored and processed by its arrival time, as for any unreadable `created`.
    payload = event("vox.call.started", call_data()) | {"created": created}
    response = deliver(client, payload)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.created is None and stored.outcome == Outcome.PENDING
    assert stored.payload["created"] == created


def test_signed_string_with_escaped_nul_is_stored_and_marked_failed(client, enqueued):
    payload = event("vox.call.completed", call_data("call_\u0000x", "completed", reason="a\u0000b"))
    payload["data"]["k\u0000ey"] = ["\u0000"]
    body = json.dumps(payload).encode()
    assert b"\\u0000" in body
    response = deliver(client, body)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    # The raw body is kept exactly as signed (the escape is six ASCII characters); the payload
    # is what jsonb can hold. Applying altered data could write a wrong call id to the mirror.
    assert stored.raw_body == body.decode()
    assert stored.payload["data"]["callId"] == "call_\ufffdx"
    assert stored.payload["data"]["k\ufffdey"] == ["\ufffd"]
    assert stored.call_vox_id == "call_\ufffdx"
    assert stored.outcome == Outcome.FAILED and "NUL" in stored.outcome_detail
    assert enqueued == []


def test_signed_lone_surrogate_is_stored_and_marked_failed(client, enqueued):
    body = body_of(event("vox.call.started", call_data())).replace(b'"outbound"', b'"out\\ud800bound"')
    response = deliver(client, body)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.payload["data"]["direction"] == "out\ufffdbound"
    assert stored.outcome == Outcome.FAILED
    assert enqueued == []


@pytest.mark.parametrize("event_id", ["evt_\u0000", "evt_\ud800", "evt\n1"])
def test_signed_event_id_with_control_characters_is_400(client, enqueued, event_id):
    response = deliver(client, json.dumps(event("vox.call.started") | {"id": event_id}).encode())
    _refused(response, "usable id")


@pytest.mark.parametrize("depth", [200_000, 100])
def test_signed_deeply_nested_body_is_400(client, enqueued, depth):
    # 200,000 levels made json.loads raise RecursionError; 100 parse, but no Vox event is nested
    # so deep and every later step (jsonb, the log's pretty-printer) would pay for it.
    body = b'{"id":"evt_deep","type":"vox.call.started","data":' + b"[" * depth + b"]" * depth + b"}"
    refusal = _refused(deliver(client, body), "nested")
    assert refusal.body_size == len(body)


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_signed_non_finite_number_is_400(client, enqueued, value):
    # Python's json reads these as floats; jsonb refuses them.
    body = b'{"id":"evt_nan","type":"vox.call.started","data":{"durationSeconds":' + value + b"}}"
    _refused(deliver(client, body), "number")


def test_raw_nul_inside_a_signed_string_is_400_and_kept(client, enqueued):
    body = b'{"id":"evt_raw","type":"vox.call.started","data":{"name":"a\x00b"}}'
    refusal = _refused(deliver(client, body), "not UTF-8 JSON")
    assert "\x00" not in refusal.body_excerpt and "a\ufffdb" in refusal.body_excerpt


def test_hostile_bodies_over_a_real_signature_header_shape(client, enqueued):
    # The simulator's own signing, over bytes that are not even UTF-8 and carry NULs.
    body = b"\x00\xff\x00"
    header = signature_header("whsec_tests_only", body, int(time.time()))
    response = client.post(URL, body, content_type="application/json", headers={"Cloove-Signature": header})
    refusal = _refused(response, "not UTF-8 JSON")
    assert refusal.body_excerpt == "\ufffd\ufffd\ufffd"
