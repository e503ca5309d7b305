"""Failed calls and calls not answered: a share of the calls that ended in the window, over at least
MIN_CALLS of them, from the mirror (calls placed through the simulator, ended, synced)."""

import pytest

from tests.campaigns.dispatching import phone
from voxdash.alerts.checks import MIN_CALLS
from voxdash.alerts.models import AlertRule

from .evaluating import calls_end, evaluate, notices, open_alerts, place_calls

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind


@pytest.fixture
def placing(vox_settings):
    vox_settings.VOX_PLACE_CALLS_PER_MINUTE = 1000  # the per-user brake is not under test
    return vox_settings


def test_failed_calls_fire_once_stay_quiet_in_the_cooldown_remind_and_resolve(
    placing, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.FAILURE_RATE, threshold=30, window_minutes=60, cooldown_minutes=60)
    # 4 of 10 fail: 40% > 30%.
    placed = place_calls(
        simulator, caller, [phone(i, "failed") for i in range(4)] + [phone(i) for i in range(4, 10)]
    )
    calls_end(simulator, placed)

    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = open_alerts(rule)
    assert alert.value == 40.0
    assert alert.summary == "4 of the 10 calls that ended in the last hour failed (40%, more than 30%)."
    assert alert.link == "/calls/?status=failed"

    clock.forward(30)
    placed = place_calls(simulator, caller, [phone(10, "failed")])  # 5 of 11 now
    calls_end(simulator, placed)
    evaluate(rule)
    assert notices(rule) == ["fired"]  # within the cooldown: nothing new
    assert open_alerts(rule)[0].summary.startswith("5 of the 11 calls")

    clock.forward(31)  # the first 10 left the window; the 11th alone is too few to judge
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved"]
    assert open_alerts(rule) == []


def test_a_failure_rate_still_high_after_the_cooldown_is_reminded(
    placing, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.FAILURE_RATE, threshold=30, window_minutes=120, cooldown_minutes=60)
    placed = place_calls(simulator, caller, [phone(i, "failed") for i in range(MIN_CALLS)])
    calls_end(simulator, placed)
    evaluate(rule)
    clock.forward(59)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder"]
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder"]  # the next one an hour after the reminder


def test_fewer_than_min_calls_or_at_the_threshold_do_not_fire(
    placing, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.FAILURE_RATE, threshold=50, window_minutes=60)
    placed = place_calls(simulator, caller, [phone(i, "failed") for i in range(MIN_CALLS - 1)])  # 100% of 9
    calls_end(simulator, placed)
    evaluate(rule)
    assert notices(rule) == []
    placed = place_calls(simulator, caller, [phone(i) for i in range(100, 100 + MIN_CALLS + 7)])
    calls_end(simulator, placed)  # 9 of 26 failed
    evaluate(rule)
    assert notices(rule) == []
    placed = place_calls(simulator, caller, [phone(200, "failed")])  # 10 of 27: 37%
    calls_end(simulator, placed)
    rule.threshold = 37
    rule.save()
    evaluate(rule)
    assert notices(rule) == ["fired"]


def test_busy_and_no_answer_count_as_not_answered_failed_does_not(
    placing, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.NO_ANSWER_RATE, threshold=60, window_minutes=60)
    phones = [phone(i, "no_answer") for i in range(4)] + [phone(i, "busy") for i in range(4, 7)]
    placed = place_calls(simulator, caller, phones + [phone(i, "failed") for i in range(7, 10)])
    calls_end(simulator, placed)  # 7 of 10 not answered
    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = open_alerts(rule)
    assert (
        alert.summary
        == "7 of the 10 calls that ended in the last hour were not answered (70%, more than 60%)."
    )
    assert alert.link == "/calls/?status=no_answer"

    placed = place_calls(simulator, caller, [phone(i) for i in range(10, 13)])  # 7 of 13: 54%
    calls_end(simulator, placed)
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved"]


def test_planned_outcomes_count_as_they_ended(placing, simulator, caller, channel, only_rule, clock):
    rule = only_rule(Kind.FAILURE_RATE, threshold=30, window_minutes=60)
    numbers = [phone(i) for i in range(10)]  # would complete by their last digit
    simulator.plan_outcomes({n: ["failed"] for n in numbers[:5]})
    placed = place_calls(simulator, caller, numbers)
    evaluate(rule)
    assert notices(rule) == []  # placed, not ended yet
    calls_end(simulator, placed)
    evaluate(rule)
    assert notices(rule) == ["fired"] and open_alerts(rule)[0].value == 50.0
