"""POST /webhooks/vox/: verify, store once, answer quickly, enqueue after commit."""

import logging
import time

import pytest
from django.test import Client

from vox_simulator.webhooks import signature_header
from voxdash.webhooks.models import WebhookEvent

from .conftest import URL, body_of, call_data, deliver, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # CSRF is enforced as in production: the receiver must not need a token. No login either.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def enqueued(monkeypatch):
    """The event pks the receiver enqueued (after commit), without a broker."""
    from voxdash.webhooks import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_event, "delay", lambda pk: sent.append(pk))
    return sent


def test_valid_delivery_is_stored_acknowledged_and_enqueued_after_commit(
    client, enqueued, django_capture_on_commit_callbacks
):
    payload = event("vox.call.completed", call_data("call_9", "completed", durationSeconds=42))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = deliver(client, payload)
    assert response.status_code == 200
    assert response.json() == {"received": payload["id"], "duplicate": False}
    stored = WebhookEvent.objects.get()
    assert stored.event_id == payload["id"]
    assert stored.event_type == "vox.call.completed"
    assert stored.call_vox_id == "call_9"
    assert stored.payload == payload and stored.raw_body == body_of(payload).decode()
    assert stored.deliveries == 1  # stored at all: only a verified delivery becomes an event
    assert stored.outcome == WebhookEvent.Outcome.PENDING
    assert stored.created.isoformat() == "2026-11-24T09:00:00+00:00"
    # Not sent inside the transaction: only once it commits.
    assert enqueued == [] and len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [stored.pk]


def test_duplicate_delivery_counts_and_does_not_reprocess(
    client, enqueued, django_capture_on_commit_callbacks
):
    payload = event("vox.call.started", call_data())
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, payload).status_code == 200
    WebhookEvent.objects.update(outcome=WebhookEvent.Outcome.APPLIED)  # the worker did its job
    with django_capture_on_commit_callbacks(execute=True):
        second = deliver(client, payload)
        third = deliver(client, payload)
    assert second.status_code == third.status_code == 200
    assert third.json()["duplicate"] is True
    stored = WebhookEvent.objects.get()
    assert stored.deliveries == 3
    assert stored.outcome == WebhookEvent.Outcome.APPLIED
    assert len(enqueued) == 1


def test_duplicate_of_a_still_pending_event_is_enqueued_again(
    client, enqueued, django_capture_on_commit_callbacks
):
    # If the first enqueue was lost (broker down after commit), Vox's retry must get it processed.
    payload = event("vox.call.started", call_data())
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, payload)
        deliver(client, payload)
    pk = WebhookEvent.objects.get().pk
    assert enqueued == [pk, pk]


def test_login_and_csrf_are_not_required(client, enqueued):
    response = deliver(client, event("vox.call.started", call_data()))
    assert response.status_code == 200
    assert "login" not in response.get("Location", "")


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def _rejected(response) -> str:
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert WebhookEvent.objects.count() == 0
    return response.json()["error"]


@pytest.mark.parametrize(
    "headers, fragment",
    [
        ({}, "missing"),
        ({"Cloove-Signature": "t=1,v1=00"}, "tolerance"),
        ({"Cloove-Signature": "nonsense"}, "timestamp"),
    ],
)
def test_missing_or_broken_signature_is_400_and_nothing_is_stored(client, enqueued, headers, fragment):
    payload = event("vox.call.started", call_data())
    response = client.post(URL, body_of(payload), content_type="application/json", headers=headers)
    assert fragment in _rejected(response)
    assert enqueued == []


def test_wrong_secret_is_400(client, enqueued):
    assert "does not match" in _rejected(deliver(client, event("vox.call.started"), secret="whsec_wrong"))


def test_tampered_body_is_400(client, enqueued):
    payload = event("vox.call.completed", call_data(status="completed"))
    body = body_of(payload)
    header = signature_header("whsec_tests_only", body)
    tampered = body.replace(b'"completed"', b'"failed"')
    response = client.post(
        URL, tampered, content_type="application/json", headers={"Cloove-Signature": header}
    )
    _rejected(response)


def test_replayed_old_delivery_is_400(client, enqueued, caplog):
    # A captured delivery, signed correctly ten minutes ago, sent again now.
    payload = event("vox.call.completed", call_data(status="completed"))
    with caplog.at_level(logging.WARNING, logger="voxdash.webhooks"):
        response = deliver(client, payload, timestamp=int(time.time()) - 600)
    assert "tolerance" in _rejected(response)
    assert "webhook rejected" in caplog.text


def test_future_timestamp_is_400(client, enqueued):
    _rejected(deliver(client, event("vox.call.started"), timestamp=int(time.time()) + 600))


def test_no_secret_configured_is_400(client, enqueued, settings):
    settings.VOX_WEBHOOK_SECRET = ""
    response = deliver(client, event("vox.call.started"), secret="")
    assert "not configured" in _rejected(response)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'"string"',
        b"\xff\xfe",
        b'{"type": "vox.call.started"}',
        b'{"id": 5, "type": "vox.call.started"}',
        b'{"id": "evt_1"}',
        b"",
    ],
)
def test_malformed_body_with_valid_signature_is_400_and_logged(client, enqueued, caplog, body):
    with caplog.at_level(logging.ERROR, logger="voxdash.webhooks"):
        response = deliver(client, body)
    _rejected(response)
    assert "webhook rejected" in caplog.text and "valid signature but unusable body" in caplog.text


def test_header_id_must_match_the_body_id(client, enqueued):
    payload = event("vox.call.started")
    response = deliver(client, payload, headers={"Cloove-Webhook-Id": "evt_someone_else"})
    assert "does not match" in _rejected(response)


def test_missing_id_header_falls_back_to_the_signed_body(client, enqueued):
    payload = event("vox.call.started")
    body = body_of(payload)
    header = signature_header("whsec_tests_only", body)
    response = client.post(URL, body, content_type="application/json", headers={"Cloove-Signature": header})
    assert response.status_code == 200
    assert WebhookEvent.objects.get().event_id == payload["id"]
