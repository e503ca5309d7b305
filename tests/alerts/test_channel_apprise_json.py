"""apprise's own JSON webhook (json://), against a real HTTP receiver: any apprise URL works."""

import json

from tests.alerts import delivering
from tests.alerts.delivering import make_alert, make_channel, notify, only_channels
from voxdash.alerts.models import AlertDelivery
from voxdash.alerts.notify import alert_deliveries_send

receiver = delivering.receiver


def test_apprise_json_posts_the_title_and_text(db, receiver):
    host_port = receiver.url.removeprefix("http://")
    only_channels(make_channel("apprise JSON", f"json://{host_port}/apprise"))
    [delivery] = notify(make_alert())
    alert_deliveries_send()
    [request] = receiver.wait_for(1)
    assert request.path == "/apprise"
    body = json.loads(request.body)
    assert body["title"] == "[voxdash] Alert: Failed calls"
    assert body["message"].startswith("41% of the last hour's 27 ended calls failed")
    assert body["type"] == "failure"
    delivery.refresh_from_db()
    assert delivery.state == AlertDelivery.State.DELIVERED


def test_apprise_json_failure_is_retried_with_the_status_apprise_logged(db, receiver):
    host_port = receiver.url.removeprefix("http://")
    only_channels(make_channel("apprise JSON", f"json://{host_port}/apprise"))
    receiver.answers = [502]
    [delivery] = notify(make_alert())
    alert_deliveries_send()
    delivery.refresh_from_db()
    assert delivery.state == AlertDelivery.State.RETRYING
    assert delivery.last_error.startswith("Attempt 1: JSON: ")
    assert "502" in delivery.last_error
