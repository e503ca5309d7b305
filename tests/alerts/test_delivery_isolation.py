"""A channel never holds up another: a hung receiver costs its own channel one timeout, the others
are delivered meanwhile; a failing channel's other notices wait, untried, for the next run."""

import time
from datetime import timedelta

from django.utils import timezone

from tests.alerts import delivering
from tests.alerts.delivering import make_alert, make_channel, notify, only_channels
from tests.fixtures.receivers import http_receiver
from voxdash.alerts.models import AlertChannel, AlertDelivery
from voxdash.alerts.notify import alert_deliveries_send

receiver = delivering.receiver
short_timeout = delivering.short_timeout
State = AlertDelivery.State


def test_a_hung_receiver_does_not_delay_another_channel(db, receiver, short_timeout):
    with http_receiver() as hung:
        hung.delay = 30  # answers only when the test ends
        only_channels(make_channel("Hung", hung.url), make_channel("Fine", receiver.url))
        deliveries = {d.channel_name: d for d in notify(make_alert())}
        started = time.monotonic()
        assert alert_deliveries_send() == 2
        took = time.monotonic() - started
        fine_arrived = receiver.wait_for(1)[0].at - started

    assert fine_arrived < 0.5 <= 1.0 <= took < 5
    fine = AlertDelivery.objects.get(pk=deliveries["Fine"].pk)
    assert fine.state == State.DELIVERED
    # Recorded as it came, while the other was still hanging.
    assert (fine.delivered_at - fine.created_at).total_seconds() < 0.5
    stuck = AlertDelivery.objects.get(pk=deliveries["Hung"].pk)
    assert stuck.state == State.RETRYING
    assert stuck.last_error == "Attempt 1: no answer within 1 s (ReadTimeout)"
    assert AlertChannel.objects.get(name="Hung").failing


def test_a_sender_that_ignores_its_timeout_is_abandoned_at_the_deadline(db, receiver, short_timeout):
    # A body that trickles a byte every 0.2 s: no read ever waits 1 s, so only the run's own
    # deadline (timeout + grace: 2 s) ends the wait.
    receiver.trickle = 0.2
    only_channels(make_channel("Trickle", receiver.url))
    [delivery] = notify(make_alert())
    started = time.monotonic()
    alert_deliveries_send()
    assert 2.0 <= time.monotonic() - started < 4
    delivery.refresh_from_db()
    assert delivery.state == State.RETRYING
    assert delivery.last_error == "Attempt 1: no answer within 2 s"


def test_after_a_failure_the_channels_other_notices_wait_untried(db, receiver):
    only_channels(make_channel("Flaky", receiver.url))
    receiver.answers = [500]
    first = notify(make_alert(subject="a"))[0]
    second = notify(make_alert(subject="b"))[0]
    assert alert_deliveries_send() == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == State.RETRYING and first.attempts == 1
    assert second.state == State.PENDING and second.attempts == 0 and second.last_error == ""
    assert len(receiver.requests) == 1
    # The next run tries it (the first waits for its backoff).
    assert alert_deliveries_send() == 1
    second.refresh_from_db()
    assert second.state == State.DELIVERED and second.attempts == 1


def test_notices_to_one_channel_leave_in_order(db, receiver):
    only_channels(make_channel("Hook", receiver.url))
    alert = make_alert()
    notify(alert, "fired")
    alert.resolved_at = timezone.now()
    alert.save()
    notify(alert, "resolved")
    alert_deliveries_send()
    assert [r.headers["Cloove-Webhook-Event"] for r in receiver.requests] == [
        "voxdash.alert.fired",
        "voxdash.alert.resolved",
    ]


def test_a_deleted_or_disabled_channel_gives_up_with_the_reason(db, tmp_path):
    gone = make_channel("Gone", f"file://{tmp_path}/gone.log")
    off = make_channel("Off", f"file://{tmp_path}/off.log")
    only_channels(gone, off)
    notify(make_alert())
    gone.delete()
    off.enabled = False
    off.save()
    alert_deliveries_send(now=timezone.now() + timedelta(seconds=1))
    assert dict(AlertDelivery.objects.values_list("channel_name", "last_error")) == {
        "Gone": "Attempt 1: the channel was deleted",
        "Off": "Attempt 1: the channel is turned off",
    }
    assert set(AlertDelivery.objects.values_list("state", flat=True)) == {State.GAVE_UP}
