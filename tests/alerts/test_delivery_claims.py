"""Claiming: of two senders exactly one sends a delivery; a dead worker's claim is sent again after
the lease, and a sender that outlived its lease does not overwrite the run that took over."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.alerts import delivering
from tests.alerts.delivering import make_alert, make_channel, notify, only_channels
from voxdash.alerts import notify as notify_module
from voxdash.alerts.models import AlertDelivery
from voxdash.alerts.notify import SEND_LEASE, alert_deliveries_send

receiver = delivering.receiver
State = AlertDelivery.State


def test_a_delivery_is_claimed_once(db, receiver):
    only_channels(make_channel("Hook", receiver.url))
    [delivery] = notify(make_alert())
    now = timezone.now()
    first = notify_module._claim(delivery.pk, State.PENDING, now=now)
    second = notify_module._claim(delivery.pk, State.PENDING, now=now)
    assert first is not None and second is None
    assert AlertDelivery.objects.get(pk=delivery.pk).state == State.SENDING


def test_two_senders_at_once_send_each_notice_once(transactional_db, receiver):
    # Real concurrency: two threads, each with its own database connection, start together.
    hooks = [make_channel(f"Hook {i}", f"{receiver.url}/{i}") for i in range(3)]
    only_channels(*hooks)
    for _ in range(8):
        notify(make_alert(subject=str(_)))
    receiver.delay = 0.02  # sends overlap
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def sender():
        try:
            barrier.wait()
            counts.append(alert_deliveries_send())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    ids = [r.headers["Cloove-Webhook-Id"] for r in receiver.requests]
    assert len(ids) == 24 and len(set(ids)) == 24  # 8 notices x 3 channels, none twice
    assert sum(counts) == 24
    assert set(AlertDelivery.objects.values_list("state", "attempts")) == {(State.DELIVERED, 1)}


@pytest.mark.parametrize("age, sent", [(SEND_LEASE - timedelta(seconds=1), False), (SEND_LEASE, True)])
def test_a_claim_older_than_the_lease_is_a_dead_worker_and_is_sent_again(db, receiver, age, sent):
    only_channels(make_channel("Hook", receiver.url))
    [delivery] = notify(make_alert())
    now = timezone.now()
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        state=State.SENDING, sending_since=now - age, attempts=1
    )
    assert alert_deliveries_send(now=now + timedelta(microseconds=1)) == int(sent)
    delivery.refresh_from_db()
    if sent:
        assert delivery.state == State.DELIVERED and delivery.attempts == 2
        assert len(receiver.requests) == 1
    else:
        assert delivery.state == State.SENDING and not receiver.requests


def test_a_sender_that_outlived_its_lease_leaves_the_new_result_alone(db, receiver):
    only_channels(make_channel("Hook", receiver.url))
    [delivery] = notify(make_alert())
    now = timezone.now()
    slow = notify_module._claim(delivery.pk, State.PENDING, now=now)
    later = now + SEND_LEASE + timedelta(seconds=1)
    assert alert_deliveries_send(now=later) == 1  # took over, and delivered
    notify_module._record(slow, "the slow sender's late failure", now=later)
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.attempts == 2 and delivery.last_error == ""
