"""The shared request budget exhausted: the real budget on a Redis of the test's own refuses pages
in each of the last `window` whole minutes."""

import pytest

from voxdash.alerts.models import AlertRule
from voxdash.vox import errors, get_client, reset_client

from .evaluating import evaluate, notices, open_alerts

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def budget_on_redis(vox_settings, own_redis):
    vox_settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": own_redis.url}
    }
    vox_settings.VOX_REQUESTS_PER_MINUTE = 12
    reset_client()
    yield get_client().budget
    reset_client()


def pages_refused(simulator) -> None:
    """Pages ask Vox until the budget says no (its log runs on Redis's clock, which time travel
    leaves alone: once spent, it stays spent while the test moves its own clock)."""
    client = get_client()
    for _ in range(20):
        try:
            client.health()
        except errors.VoxBudgetExhausted:
            return
    pytest.fail("the budget never refused")


def test_refusals_in_each_of_five_minutes_fire_remind_and_resolve(
    budget_on_redis, simulator, channel, only_rule, clock
):
    rule = only_rule(AlertRule.Kind.BUDGET_EXHAUSTED, window_minutes=5, cooldown_minutes=30)
    for minute in range(5):
        pages_refused(simulator)
        clock.forward(1)
        evaluate(rule)
        assert notices(rule) == ([] if minute < 4 else ["fired"])
    [alert] = open_alerts(rule)
    assert alert.summary.startswith(
        "voxdash's shared Vox request budget refused requests in each of the last 5 minutes"
    )
    assert alert.value == sum(budget_on_redis.refusals(5)) >= 5

    for _ in range(29):
        pages_refused(simulator)
        clock.forward(1)
        evaluate(rule)
    assert notices(rule) == ["fired"]
    pages_refused(simulator)
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder"]

    clock.forward(1)  # a whole minute without a refusal
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder", "resolved"]


def test_a_minute_without_refusals_breaks_the_run(budget_on_redis, simulator, channel, only_rule, clock):
    rule = only_rule(AlertRule.Kind.BUDGET_EXHAUSTED, window_minutes=3)
    pages_refused(simulator)
    clock.forward(2)  # the second minute had none
    pages_refused(simulator)
    clock.forward(1)
    evaluate(rule)
    assert budget_on_redis.refusals(3)[1] == 0
    assert notices(rule) == []


def test_no_budget_nothing_refused(vox_settings, channel, only_rule, clock):
    vox_settings.VOX_REQUESTS_PER_MINUTE = 0
    reset_client()
    rule = only_rule(AlertRule.Kind.BUDGET_EXHAUSTED, window_minutes=1)
    clock.forward(5)
    evaluate(rule)
    assert notices(rule) == [] and rule.last_error == ""
    reset_client()
