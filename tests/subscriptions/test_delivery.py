"""Deliveries to a real HTTP receiver that fails its first attempts: signed as Vox signs, the same
event id on every attempt, retried with backoff until accepted, for a day, claimed once."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.fixtures.concurrency import at_once
from tests.fixtures.receivers import http_receiver
from voxdash.subscriptions.delivery import BACKOFF, event_deliveries_send
from voxdash.subscriptions.emit import event_emit
from voxdash.subscriptions.models import CALL_STATUS_CHANGED, EventDelivery, Subscription
from voxdash.webhooks.signature import verify

pytestmark = pytest.mark.django_db


def subscribe(url, types=(CALL_STATUS_CHANGED,), **fields):
    return Subscription.objects.create(
        name=fields.pop("name", "CRM"), url=url, event_types=list(types), **fields
    )


def test_an_event_arrives_signed_and_is_retried_until_accepted():
    with http_receiver() as hook:
        subscription = subscribe(hook.url)
        hook.answers = [500, 503]
        event = event_emit(type=CALL_STATUS_CHANGED, data={"call_id": "c1", "status": "completed"})
        now = timezone.now()
        assert event_deliveries_send(now=now) == 1
        delivery = EventDelivery.objects.get()
        assert delivery.state == "retrying" and delivery.last_status == 500 and delivery.attempts == 1
        assert event_deliveries_send(now=now) == 0  # not due before its backoff
        with time_machine.travel(now + BACKOFF[0] + timedelta(seconds=1), tick=False):
            assert event_deliveries_send() == 1
        with time_machine.travel(now + BACKOFF[0] + BACKOFF[1] + timedelta(seconds=2), tick=False):
            assert event_deliveries_send() == 1
        delivery.refresh_from_db()
        assert delivery.state == "delivered" and delivery.attempts == 3 and delivery.last_status == 200
        assert len(hook.requests) == 3
        ids = {r.headers["Voxdash-Event-Id"] for r in hook.requests}
        assert ids == {str(event.uuid)}  # the receiver can drop a repeat by it
        last = hook.requests[-1]
        assert last.headers["Voxdash-Event-Type"] == CALL_STATUS_CHANGED
        verify(subscription.secret, last.headers["Voxdash-Signature"], last.body)  # raises if not
        body = json.loads(last.body)
        assert body == {
            "id": str(event.uuid), "type": CALL_STATUS_CHANGED, "created_at": body["created_at"],
            "data": {"call_id": "c1", "status": "completed"},
        }  # fmt: skip


def test_a_wrong_secret_does_not_verify():
    from voxdash.webhooks.signature import SignatureError

    with http_receiver() as hook:
        subscribe(hook.url)
        event_emit(type=CALL_STATUS_CHANGED, data={})
        event_deliveries_send()
        with pytest.raises(SignatureError):
            verify("whsec_wrong", hook.requests[0].headers["Voxdash-Signature"], hook.requests[0].body)


def test_after_a_day_it_gives_up():
    with http_receiver() as hook:
        subscribe(hook.url)
        hook.answers = [500] * 20
        event_emit(type=CALL_STATUS_CHANGED, data={})
        start = timezone.now()
        event_deliveries_send(now=start)
        with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
            assert event_deliveries_send() == 1
        assert EventDelivery.objects.get().state == "failed"


def test_an_unreachable_receiver_is_an_error_kept_not_a_crash():
    subscribe("http://127.0.0.1:9/")  # the discard port: nothing listens
    event_emit(type=CALL_STATUS_CHANGED, data={})
    event_deliveries_send()
    delivery = EventDelivery.objects.get()
    assert delivery.state == "retrying" and "could not reach" in delivery.last_error


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_attempt_once():
    with http_receiver() as hook:
        subscribe(hook.url)
        for _ in range(5):
            event_emit(type=CALL_STATUS_CHANGED, data={})
        at_once(event_deliveries_send)
        assert len(hook.requests) == 5
        assert set(EventDelivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_a_run_stops_claiming_in_time_and_leaves_the_rest_due_not_claimed(monkeypatch):
    """A slow receiver: rows are claimed as a thread frees, and none after CLAIM_WITHIN, so no
    claim can outlive its lease (and be sent again by another run) while this run still waits."""
    from voxdash.subscriptions import delivery

    monkeypatch.setattr(delivery, "PARALLEL", 1)
    monkeypatch.setattr(delivery, "CLAIM_WITHIN", timedelta(seconds=0.5))
    with http_receiver() as hook:
        subscribe(hook.url)
        hook.delay = 0.3
        for _ in range(6):
            event_emit(type=CALL_STATUS_CHANGED, data={})
        first_run = event_deliveries_send()
        assert 1 <= first_run <= 3  # ~0.3 s each, claimed one at a time within 0.5 s
        states = list(EventDelivery.objects.values_list("state", "attempts"))
        assert states.count(("delivered", 1)) == first_run
        assert states.count(("pending", 0)) == 6 - first_run  # untouched: due for the next run
        hook.delay = 0
        # The next run has time for all of them: on a loaded machine five claims may not fit in 0.5 s.
        monkeypatch.setattr(delivery, "CLAIM_WITHIN", timedelta(seconds=30))
        assert event_deliveries_send() == 6 - first_run
        assert len(hook.requests) == 6


def test_only_subscriptions_that_want_the_type_and_are_active_get_it():
    with http_receiver() as hook:
        subscribe(hook.url, name="calls")
        subscribe(hook.url, types=["alert.opened"], name="alerts")
        subscribe(hook.url, name="off", active=False)
        event_emit(type=CALL_STATUS_CHANGED, data={})
        assert list(EventDelivery.objects.values_list("subscription__name", flat=True)) == ["calls"]
        assert event_emit(type="campaign.progress", data={}) is None  # nobody wants it: nothing kept
