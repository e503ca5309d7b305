"""The signed JSON webhook channel, against a real HTTP receiver: signed as Vox signs, retried with
backoff while the receiver fails, delivered once it answers, given up after a day."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.alerts import delivering
from tests.alerts.delivering import make_alert, make_channel, notify, only_channels
from voxdash.alerts.models import AlertChannel, AlertDelivery
from voxdash.alerts.notify import alert_deliveries_send
from voxdash.webhooks.signature import SignatureError, verify

receiver = delivering.receiver
State = AlertDelivery.State


@pytest.fixture
def hook_channel(db, receiver):
    channel = make_channel("Ops webhook", f"{receiver.url}/hooks/voxdash")
    only_channels(channel)
    return channel


def test_the_notice_arrives_signed_as_vox_signs_with_an_id_to_deduplicate(hook_channel, receiver, settings):
    settings.VOXDASH_BASE_URL = "https://intranet.example/"
    alert = make_alert(subject="", subject_label="")
    [delivery] = notify(alert)

    assert alert_deliveries_send() == 1

    [request] = receiver.wait_for(1)
    assert request.path == "/hooks/voxdash"
    # The receiver's own check: the function voxdash uses for Vox's deliveries.
    verify(hook_channel.signing_secret, request.headers["Cloove-Signature"], request.body)
    with pytest.raises(SignatureError):
        verify("whsec_someone_else_entirely", request.headers["Cloove-Signature"], request.body)
    event = json.loads(request.body)
    assert request.headers["Cloove-Webhook-Id"] == event["id"] == f"vxd_alert_{delivery.pk}"
    assert request.headers["Cloove-Webhook-Event"] == event["type"] == "voxdash.alert.fired"
    data = event["data"]
    assert data["notice"] == "fired"
    assert data["rule"] == {"id": alert.rule_id, "kind": "failure_rate", "name": "Failed calls"}
    assert data["alert"]["summary"] == "41% of the last hour's 27 ended calls failed"
    assert data["alert"]["value"] == 41.0
    assert data["alert"]["link"] == "https://intranet.example/calls/?status=failed"
    assert data["alert"]["opened_at"] == alert.opened_at.isoformat()
    assert data["alert"]["resolved_at"] is None
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.attempts == 1 and delivery.delivered_at
    hook_channel.refresh_from_db()
    assert hook_channel.last_delivered_at == delivery.delivered_at and not hook_channel.failing


def test_the_resolved_notice_carries_both_times_and_a_path_without_a_base_url(hook_channel, receiver):
    alert = make_alert()
    alert.resolved_at = alert.opened_at + timedelta(minutes=20)
    alert.save()
    notify(alert, "resolved")
    alert_deliveries_send()
    event = json.loads(receiver.wait_for(1)[0].body)
    assert event["type"] == "voxdash.alert.resolved"
    assert event["data"]["alert"]["resolved_at"] == alert.resolved_at.isoformat()
    assert event["data"]["alert"]["link"] == "/calls/?status=failed"
    assert "back to normal" in event["data"]["text"]


def test_a_failing_receiver_is_retried_with_backoff_then_delivered(hook_channel, receiver):
    receiver.answers = [(500, "database on fire"), 503]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        [delivery] = notify(make_alert())
        alert_deliveries_send()
        delivery.refresh_from_db()
        assert delivery.state == State.RETRYING and delivery.attempts == 1
        assert delivery.last_error == "Attempt 1: the receiver answered HTTP 500: database on fire"
        assert delivery.next_attempt_at == start + timedelta(minutes=1)
        hook_channel.refresh_from_db()
        assert hook_channel.failing and hook_channel.last_error == delivery.last_error

        # Not due yet: nothing is sent.
        clock.shift(timedelta(seconds=59))
        assert alert_deliveries_send() == 0
        assert len(receiver.requests) == 1

        clock.shift(timedelta(seconds=1))
        assert alert_deliveries_send() == 1
        delivery.refresh_from_db()
        assert delivery.state == State.RETRYING and delivery.attempts == 2
        assert delivery.last_error == "Attempt 2: the receiver answered HTTP 503: ok"
        assert delivery.next_attempt_at == start + timedelta(minutes=1 + 2)

        clock.shift(timedelta(minutes=2))
        assert alert_deliveries_send() == 1
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.attempts == 3
    assert len(receiver.requests) == 3
    # The same event each time (a receiver drops repeats by id), each attempt freshly signed.
    assert len({r.body for r in receiver.requests}) == 1
    assert len({r.headers["Cloove-Webhook-Id"] for r in receiver.requests}) == 1
    hook_channel.refresh_from_db()
    assert not hook_channel.failing


def test_it_gives_up_after_about_a_day(hook_channel, receiver):
    receiver.answers = [500] * 100
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        [delivery] = notify(make_alert())
        waits = []
        while True:
            alert_deliveries_send()
            delivery.refresh_from_db()
            if delivery.state != State.RETRYING:
                break
            waits.append(delivery.next_attempt_at - timezone.now())
            clock.move_to(delivery.next_attempt_at)
        last_attempt_at = timezone.now()
    assert delivery.state == State.GAVE_UP
    assert [w.total_seconds() / 60 for w in waits[:7]] == [1, 2, 5, 10, 30, 60, 60]
    # The last attempt was within a day of the notice; another would have been past it.
    assert timedelta(hours=23) <= last_attempt_at - start <= timedelta(hours=24)
    assert delivery.attempts == len(receiver.requests) == len(waits) + 1
    assert delivery.last_error.startswith(f"Attempt {delivery.attempts}: the receiver answered HTTP 500")


def test_an_unreachable_receiver_says_so(db):
    channel = make_channel("Gone", "http://127.0.0.1:9/hooks")
    only_channels(channel)
    [delivery] = notify(make_alert())
    alert_deliveries_send()
    delivery.refresh_from_db()
    assert delivery.state == State.RETRYING
    assert delivery.last_error.startswith("Attempt 1: could not reach the receiver (ConnectError")


def test_the_error_never_shows_the_urls_secrets(db, receiver):
    token = "f3a9c2d17be84e0c9a6d5b4e3f2a1c0d"
    channel = make_channel("Tokened", f"{receiver.url}/hooks/{token}?key=hunter2-secret")
    only_channels(channel)
    receiver.answers = [(404, f"no hook at /hooks/{token}?key=hunter2-secret")]
    [delivery] = notify(make_alert())
    alert_deliveries_send()
    delivery.refresh_from_db()
    channel.refresh_from_db()
    for text in (delivery.last_error, channel.last_error):
        assert token not in text and "hunter2-secret" not in text
        assert "no hook at /hooks/•••?key=•••" in text


def test_environment_webhooks_are_signed_with_the_environment_secret(db, receiver, settings):
    settings.VOXDASH_ALERT_URLS = [f"{receiver.url}/from-env"]
    settings.VOXDASH_ALERT_WEBHOOK_SECRET = "whsec_from_the_environment_123"
    AlertChannel.objects.update(enabled=False)
    notify(make_alert())
    alert_deliveries_send()
    [request] = receiver.wait_for(1)
    assert request.path == "/from-env"
    verify("whsec_from_the_environment_123", request.headers["Cloove-Signature"], request.body)
    channel = AlertChannel.objects.get(from_environment=True)
    assert channel.url == "" and channel.name == "Environment 1 (webhook)"
