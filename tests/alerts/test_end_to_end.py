"""From the simulator to an inbox: Vox fails, beat's evaluation opens the alert, the sender mails it
through a real SMTP server and posts it, signed, to a real HTTP receiver; one notice each, none in
the cooldown, and one "resolved" each when Vox answers again."""

import json

import pytest

from tests.alerts import delivering, test_rule_connection
from tests.alerts.delivering import make_channel, only_channels
from tests.alerts.test_channel_email import mailto
from vox_simulator import keys
from voxdash.alerts.models import AlertChannel, AlertRule
from voxdash.alerts.notify import alert_deliveries_send
from voxdash.webhooks.signature import verify

from .evaluating import evaluate

smtp, receiver = delivering.smtp, delivering.receiver
no_retries = test_rule_connection.no_retries
pytestmark = pytest.mark.django_db


def test_vox_down_reaches_the_inbox_and_the_webhook_once_then_resolved(
    no_retries,
    simulator,
    only_rule,
    clock,
    smtp,
    receiver,
):
    mail = make_channel("Ops mail", mailto(smtp.port).replace(",oncall@example.com", ""))
    hook = make_channel("On-call hook", receiver.url, kind=AlertChannel.Kind.WEBHOOK)
    only_channels(mail, hook)
    rule = only_rule(AlertRule.Kind.VOX_UNREACHABLE, window_minutes=5, cooldown_minutes=60)

    def beat(minutes: float) -> None:
        clock.forward(minutes)
        evaluate(rule)
        alert_deliveries_send()

    beat(0)
    simulator.faults.error_rate = 1.0  # every request to Vox answers a 5xx
    for _ in range(7):  # the healthy answer is kept a minute, then five minutes must pass
        beat(1)
    messages = smtp.wait_for(1)
    assert [m["Subject"] for m in messages] == ["[voxdash] Alert: Vox unreachable"]
    [fired] = receiver.wait_for(1)
    body = json.loads(fired.body)
    assert body["type"] == "voxdash.alert.fired" and body["data"]["rule"]["kind"] == "vox_unreachable"
    verify(hook.signing_secret, fired.headers["Cloove-Signature"], fired.body)  # raises if forged

    for _ in range(5):  # still down, within the cooldown: nothing more
        beat(5)
    assert len(smtp.messages) == 1 and len(receiver.requests) == 1

    simulator.faults.clear()
    beat(1)
    messages = smtp.wait_for(2)
    assert messages[1]["Subject"] == "[voxdash] Resolved: Vox unreachable"
    resolved = receiver.wait_for(2)[1]
    assert json.loads(resolved.body)["type"] == "voxdash.alert.resolved"
    assert resolved.headers["Cloove-Webhook-Id"] != fired.headers["Cloove-Webhook-Id"]
    beat(5)
    assert len(smtp.messages) == 2 and len(receiver.requests) == 2
    assert keys.DEMO_KEY not in json.dumps([r.body.decode() for r in receiver.requests])
