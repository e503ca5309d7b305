"""Webhooks refused (bad or stale signature) more than the threshold in the window, and webhooks
silent while calls are placed (the simulator's webhooks stopped: nothing delivered)."""

import json

import pytest
from django.urls import reverse

from tests.campaigns.dispatching import Webhooks, phone
from voxdash.alerts.models import AlertRule
from voxdash.webhooks.models import RefusedDelivery

from .evaluating import evaluate, notices, open_alerts, place_calls

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind


def post_forged(client, n: int) -> None:
    """Deliveries signed with a secret voxdash does not have (a rotated secret), to the receiver."""
    body = json.dumps({"id": "evt_forged", "type": "vox.call.completed", "data": {}})
    for i in range(n):
        response = client.post(
            reverse("webhooks:vox"),
            body,
            content_type="application/json",
            headers={"Cloove-Webhook-Id": f"evt_{i}", "Cloove-Signature": "t=1,v1=00"},
        )
        assert response.status_code == 400


def test_more_than_ten_refused_in_an_hour_fire_remind_and_resolve_as_they_age(
    client, channel, only_rule, clock
):
    rule = only_rule(Kind.WEBHOOKS_REFUSED, threshold=10, window_minutes=60, cooldown_minutes=30)
    post_forged(client, 10)
    evaluate(rule)
    assert notices(rule) == []  # ten is not more than ten
    clock.forward(20)
    post_forged(client, 1)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = open_alerts(rule)
    reason = RefusedDelivery.objects.first().reason
    assert alert.summary.startswith(
        f"11 webhook deliveries refused in the last hour (more than 10); the latest: {reason}."
    )
    assert (alert.value, alert.link) == (11, "/webhooks/log/")

    clock.forward(29)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder"]
    clock.forward(11)  # the first ten are more than an hour old
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder", "resolved"]


@pytest.fixture
def placing(vox_settings):
    vox_settings.VOX_WEBHOOK_SECRET = "whsec_tests_only"  # webhooks are set up
    return vox_settings


def test_calls_placed_and_no_webhook_for_five_minutes_fire_and_one_webhook_resolves(
    placing, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.WEBHOOKS_SILENT, window_minutes=60, cooldown_minutes=120)
    place_calls(simulator, caller, [phone(1), phone(2)])
    simulator.advance()  # the calls ring; the simulator has no webhook URL: nothing is delivered
    clock.forward(4)
    evaluate(rule)
    assert notices(rule) == []  # too soon to expect anything
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = open_alerts(rule)
    assert alert.summary.startswith("2 calls placed in the last hour, and no webhook from Vox in that time.")

    clock.forward(30)
    evaluate(rule)
    assert notices(rule) == ["fired"]

    Webhooks(simulator).finish()  # webhooks work again: the events arrive
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved"]


def test_silence_is_expected_without_webhooks_set_up_or_without_calls(
    vox_settings, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.WEBHOOKS_SILENT, window_minutes=60)
    clock.forward(90)
    evaluate(rule)
    assert notices(rule) == []  # no calls placed
    vox_settings.VOX_WEBHOOK_SECRET = ""
    place_calls(simulator, caller, [phone(1)])
    clock.forward(10)
    evaluate(rule)
    assert notices(rule) == []
