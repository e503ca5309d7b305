"""A channel never holds up another: a hung receiver costs its own channel one timeout, the others
are delivered meanwhile; a failing channel's other notices wait, untried, for the next run."""

import time
from datetime import timedelta

from django.utils import timezone

from tests.alerts import delivering
from tests.alerts.delivering import make_alert, make_channel, notify, only_channels
from tests.fixtures.receivers import http_receiver
from voxdash.alerts import channels
from voxdash.alerts.models import AlertChannel, AlertDelivery
from voxdash.alerts.notify import alert_deliveries_send

receiver = delivering.receiver
short_timeout = delivering.short_timeout
State = AlertDelivery.State


def test_a_hung_receiver_does_not_delay_another_channel(db, receiver, short_timeout, monkeypatch):
    # Senders give up after 2 s here: what happens within 1 s of the hung request is "while it still
    # hung", with a second to spare on either side for a loaded machine's stalled threads (the
    # bounds compare with that timeout and the 30 s hang, never with how fast this machine is).
    monkeypatch.setattr(channels, "SEND_TIMEOUT_SECONDS", 2.0)
    with http_receiver() as hung:
        hung.delay = 30  # answers only when the test ends
        # Channels go in name order: one after the other, the hung one would hold up the working one.
        only_channels(make_channel("Hung", hung.url), make_channel("Working", receiver.url))
        deliveries = {d.channel_name: d for d in notify(make_alert())}
        assert list(deliveries) == ["Hung", "Working"]
        started, started_at = time.monotonic(), timezone.now()
        assert alert_deliveries_send() == 2
        took = time.monotonic() - started
        arrived = receiver.wait_for(1)[0].at
        hung_asked = hung.wait_for(1)[0].at  # its sender gave up about 2 s later

    # Working was sent while Hung's sender still waited; the run cost Hung's one timeout, not the
    # 30 s it would have waited.
    assert arrived < hung_asked + 1.0 and 2.0 <= took < 10
    working = AlertDelivery.objects.get(pk=deliveries["Working"].pk)
    assert working.state == State.DELIVERED
    # Recorded as it came, while the other was still hanging (not when the run ended).
    assert working.delivered_at < started_at + timedelta(seconds=hung_asked + 1.0 - started)
    stuck = AlertDelivery.objects.get(pk=deliveries["Hung"].pk)
    assert stuck.state == State.RETRYING
    assert stuck.last_error == "Attempt 1: no answer within 2 s (ReadTimeout)"
    assert AlertChannel.objects.get(name="Hung").failing


def test_a_sender_that_ignores_its_timeout_is_abandoned_at_the_deadline(db, receiver, short_timeout):
    # A body that trickles a byte every 0.2 s: no read ever waits 1 s, so only the run's own
    # deadline (timeout + grace: 2 s) ends the wait.
    receiver.trickle = 0.2
    only_channels(make_channel("Trickle", receiver.url))
    [delivery] = notify(make_alert())
    started = time.monotonic()
    alert_deliveries_send()
    # Not before the deadline; and not the hours the trickle would go on for (10 s: load, not a bug).
    assert 2.0 <= time.monotonic() - started < 10
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
