"""No calls in business hours: only open hours count (VOXDASH_BUSINESS_HOURS), and only once the
mirror has completed a sync (an empty mirror knows nothing of the calls made)."""

from datetime import UTC, datetime, time, timedelta

import pytest

from tests.campaigns.dispatching import phone
from voxdash.alerts.models import AlertRule
from voxdash.calls.sync import calls_sync

from .evaluating import evaluate, notices, open_alerts, place_calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def monday(vox_settings, clock):
    """09:00 UTC on a Monday after every seeded call, in business hours of Mon-Fri 09:00-17:00 UTC;
    `monday(hours)` moves the clock to that many hours after it."""
    vox_settings.VOXDASH_BUSINESS_HOURS = "mon-fri 09:00-17:00"
    vox_settings.VOXDASH_BUSINESS_TIME_ZONE = "UTC"
    today = datetime.now(UTC).date()
    start = datetime.combine(today + timedelta(days=7 - today.weekday()), time(9), tzinfo=UTC)

    def at(hours: float) -> None:
        clock.traveller.move_to(start + timedelta(hours=hours), tick=False)

    at(0)
    return at


def test_four_business_hours_without_a_call_fire_and_a_call_resolves(
    monday, simulator, caller, channel, only_rule
):
    rule = only_rule(AlertRule.Kind.NO_CALLS, window_minutes=240, cooldown_minutes=240)
    calls_sync(full=True)
    monday(1)  # 10:00
    place_calls(simulator, caller, [phone(1)])
    calls_sync()

    monday(4.98)  # 13:59
    evaluate(rule)
    assert notices(rule) == []
    monday(5)  # 14:00
    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = open_alerts(rule)
    assert alert.value == 240
    day = f"{alert.opened_at:%d %b}".lstrip("0")
    assert alert.summary == (
        f"No call since {day} 10:00 UTC: 4 hours of business hours (Mon-Fri 09:00-17:00 (UTC)) without one."
    )

    monday(8.5)  # 17:30: still holding, within the cooldown
    evaluate(rule)
    assert notices(rule) == ["fired"]
    assert open_alerts(rule)[0].value == 420  # 10:00-17:00

    monday(25)  # Tuesday 10:00
    place_calls(simulator, caller, [phone(2)])
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved"]


def test_a_quiet_night_and_weekend_are_not_silence(monday, simulator, caller, channel, only_rule):
    rule = only_rule(AlertRule.Kind.NO_CALLS, window_minutes=240)
    calls_sync(full=True)
    monday(4 * 24 + 7)  # Friday 16:00
    place_calls(simulator, caller, [phone(1)])
    monday(7 * 24 + 2)  # the next Monday 11:00: an hour on Friday, two today
    evaluate(rule)
    assert notices(rule) == []
    monday(7 * 24 + 3)  # 12:00: four
    evaluate(rule)
    assert notices(rule) == ["fired"]


def test_nothing_before_the_mirror_has_synced_and_always_counts_every_minute(
    vox_settings, simulator, caller, channel, only_rule, clock
):
    vox_settings.VOXDASH_BUSINESS_HOURS = "always"
    rule = only_rule(AlertRule.Kind.NO_CALLS, window_minutes=60)
    place_calls(simulator, caller, [phone(1)])
    clock.forward(120)
    evaluate(rule)
    assert notices(rule) == []  # never synced: the mirror cannot know
    calls_sync()
    evaluate(rule)
    assert notices(rule) == ["fired"]
    assert open_alerts(rule)[0].value == 120
