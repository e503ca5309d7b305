"""Vox unreachable, and the key refused: from the header's health check (cached, shared), and for
the key, placements refused for a missing scope. Both must hold for the rule's window first."""

import pytest

from tests.campaigns.dispatching import phone
from vox_simulator import keys
from voxdash.alerts.models import AlertRule
from voxdash.placements.models import PlacedCall
from voxdash.vox import reset_client

from .evaluating import evaluate, notices, open_alerts, place_calls

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind


@pytest.fixture
def no_retries(vox_settings):
    vox_settings.VOX_MAX_RETRIES = 0  # each health check is one request: the faults count is exact
    reset_client()
    yield vox_settings
    reset_client()


def health_checks(simulator) -> int:
    return simulator.stats()["requests"].get("/v1/vox/health", 0)


def test_vox_failing_for_five_minutes_fires_once_reminds_and_resolves(
    no_retries, simulator, channel, only_rule, clock
):
    rule = only_rule(Kind.VOX_UNREACHABLE, window_minutes=5, cooldown_minutes=60)
    evaluate(rule)
    assert rule.condition_since is None and notices(rule) == []

    simulator.faults.error_rate = 1.0  # every request a 5xx
    clock.forward(1)  # the healthy answer is kept a minute
    rule = evaluate(rule)
    started = rule.condition_since
    assert started is not None and notices(rule) == []
    clock.forward(4)
    assert evaluate(rule).condition_since == started and notices(rule) == []
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = open_alerts(rule)
    assert "Vox" in alert.summary and alert.link == "/"

    clock.forward(30)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    clock.forward(30)
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder"]

    simulator.faults.clear()
    clock.forward(1)
    rule = evaluate(rule)
    assert notices(rule) == ["fired", "reminder", "resolved"]
    assert rule.condition_since is None and open_alerts(rule) == []


def test_an_outage_shorter_than_the_window_says_nothing(no_retries, simulator, channel, only_rule, clock):
    rule = only_rule(Kind.VOX_UNREACHABLE, window_minutes=5)
    simulator.faults.error_rate = 1.0
    evaluate(rule)
    clock.forward(3)
    evaluate(rule)
    simulator.faults.clear()
    clock.forward(1)
    assert evaluate(rule).condition_since is None
    simulator.faults.error_rate = 1.0
    clock.forward(1)
    evaluate(rule)  # it starts again: five more minutes from here
    clock.forward(4)
    evaluate(rule)
    assert notices(rule) == []


def test_the_health_check_is_shared_with_the_header(no_retries, simulator, channel, only_rule, clock):
    only_rule(Kind.VOX_UNREACHABLE)
    AlertRule.objects.filter(kind=Kind.KEY_REFUSED).update(enabled=True)
    before = health_checks(simulator)
    evaluate(AlertRule.objects.get(kind=Kind.VOX_UNREACHABLE))
    clock.forward(0.5)
    evaluate(AlertRule.objects.get(kind=Kind.VOX_UNREACHABLE))
    assert health_checks(simulator) == before + 1  # two rules, two evaluations, one GET /health


def test_an_expired_key_fires_after_its_minute_and_resolves_when_replaced(
    no_retries, simulator, channel, only_rule, clock
):
    rule = only_rule(Kind.KEY_REFUSED, window_minutes=1, cooldown_minutes=60)
    unreachable = AlertRule.objects.get(kind=Kind.VOX_UNREACHABLE)
    unreachable.enabled = True
    unreachable.window_minutes = 1
    unreachable.save()
    simulator.add_key(keys.DEMO_KEY, refusal=keys.EXPIRED)  # expired overnight
    evaluate(rule)
    assert notices(rule) == []
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    assert "expired" in open_alerts(rule)[0].summary
    assert notices(unreachable) == []  # Vox answered: it is reachable, the key is the trouble

    clock.forward(59)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder"]

    simulator.add_key(keys.DEMO_KEY)  # a new key in the dashboard
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder", "resolved"]


def test_a_key_that_may_not_place_calls_fires_until_a_call_goes_through(
    no_retries, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.KEY_REFUSED, window_minutes=1)
    no_retries.VOX_API_KEY = keys.READ_ONLY_KEY  # reads work: the health check is happy
    reset_client()
    [refused] = place_calls(simulator, caller, [phone(1)])
    assert (refused.outcome, refused.error_kind) == (PlacedCall.Outcome.REJECTED, "MissingScope")
    evaluate(rule)
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = open_alerts(rule)
    assert "Grant vox:calls:create to the key" in alert.summary
    assert alert.link == f"/calls/placed/{refused.idempotency_key}/"

    no_retries.VOX_API_KEY = keys.DEMO_KEY
    reset_client()
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired"]  # nothing placed since: still the last word
    place_calls(simulator, caller, [phone(2)])
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved"]
