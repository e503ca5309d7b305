"""Placed calls without an outcome: accepted more than the window ago (within a day), and the
mirror does not hold their call as ended."""

import pytest

from tests.campaigns.dispatching import phone
from voxdash.alerts.models import AlertRule
from voxdash.calls.sync import calls_sync

from .evaluating import calls_end, evaluate, notices, open_alerts, place_calls

pytestmark = pytest.mark.django_db


def test_a_call_unheard_of_for_thirty_minutes_fires_reminds_and_resolves_once_it_ends(
    vox_settings, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(AlertRule.Kind.OUTCOMES_MISSING, threshold=1, window_minutes=30, cooldown_minutes=60)
    placed = place_calls(simulator, caller, [phone(1), phone(2)])
    calls_end(simulator, placed[1:])  # the second ends and is heard of; the first stays queued
    clock.forward(29)
    calls_sync()
    evaluate(rule)
    assert notices(rule) == []
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = open_alerts(rule)
    assert alert.value == 1
    assert alert.summary.startswith("1 call placed more than 30 minutes ago without an outcome heard")
    assert alert.link == "/calls/placed/"

    clock.forward(59)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder"]

    calls_end(simulator, placed[:1])
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder", "resolved"]


def test_the_threshold_counts_calls_and_a_day_old_call_is_history(
    vox_settings, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(AlertRule.Kind.OUTCOMES_MISSING, threshold=2, window_minutes=30)
    place_calls(simulator, caller, [phone(1)])
    clock.forward(31)
    evaluate(rule)
    assert notices(rule) == []  # one is fewer than two
    place_calls(simulator, caller, [phone(2)])
    clock.forward(31)
    evaluate(rule)
    assert notices(rule) == ["fired"] and open_alerts(rule)[0].value == 2
    clock.forward(24 * 60 - 61)  # the first is more than a day old
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved"]
