"""channel_test: a test notice sent now, its result returned, never retried."""

from tests.alerts import delivering
from tests.alerts.delivering import make_channel
from tests.fixtures.receivers import free_port
from voxdash.alerts.models import AlertDelivery
from voxdash.alerts.notify import alert_deliveries_send, channel_test

receiver = delivering.receiver
State = AlertDelivery.State


def test_a_test_notice_is_delivered_now(db, receiver, admin_user):
    channel = make_channel("Ops webhook", receiver.url)
    delivery = channel_test(channel=channel, user=admin_user)
    assert delivery.state == State.DELIVERED and delivery.notice == "test" and delivery.alert is None
    [request] = receiver.requests
    assert request.headers["Cloove-Webhook-Event"] == "voxdash.alert.test"
    assert b"sent by admin" in request.body
    channel.refresh_from_db()
    assert channel.last_delivered_at == delivery.delivered_at


def test_a_failed_test_gives_up_at_once_with_the_reason(db):
    channel = make_channel("Nobody home", f"http://127.0.0.1:{free_port()}/")
    delivery = channel_test(channel=channel)
    assert delivery.state == State.GAVE_UP and delivery.attempts == 1
    assert delivery.last_error.startswith("Attempt 1: could not reach the receiver")
    channel.refresh_from_db()
    assert channel.failing
    assert alert_deliveries_send() == 0  # not picked up again


def test_a_channel_that_is_off_can_still_be_tested(db, tmp_path):
    channel = make_channel("Not yet on", f"file://{tmp_path}/test.log", enabled=False)
    assert channel_test(channel=channel).state == State.DELIVERED
    assert "TEST [voxdash] Test notice to Not yet on" in (tmp_path / "test.log").read_text()
