"""Stats figures against hand-computed ones on the fixed call set (tests/stats/dataset.py)."""

from collections import Counter
from datetime import date

import pytest

from voxdash.stats.selectors import Period, call_stats, percentile

from .dataset import FIRST_DAY, LAST_DAY

PERIOD = Period(FIRST_DAY, LAST_DAY)


def test_totals_days_and_statuses(call_set):
    stats = call_stats(PERIOD)
    assert stats.total == 10  # the two calls a minute outside the period are not counted
    assert stats.by_day == {
        date(2026, 11, 20): Counter(completed=2, failed=1),
        # c04 is 23:30 UTC on the 20th, but 00:30 in Lagos: it belongs to the 21st.
        date(2026, 11, 21): Counter(no_answer=1, completed=2, busy=1),
        date(2026, 11, 22): Counter(failed=1, in_progress=1, completed=1),
    }
    assert stats.by_status == Counter(completed=5, failed=2, no_answer=1, busy=1, in_progress=1)
    assert stats.by_direction == Counter(inbound=6, outbound=4)


def test_rates(call_set):
    stats = call_stats(PERIOD)
    assert stats.finished == 9  # in_progress is not finished
    assert stats.answered == 6  # five completed, and c08 which was answered then failed
    assert stats.answer_rate == pytest.approx(100 * 6 / 9)
    assert stats.completion_rate == pytest.approx(100 * 5 / 9)


def test_durations(call_set):
    stats = call_stats(PERIOD)
    assert stats.timed_calls == 6
    assert stats.average_duration == pytest.approx((30 + 90 + 300 + 45 + 12 + 600) / 6)  # 179.5
    assert stats.p90_duration == 600  # nearest rank: ceil(0.9 × 6) = 6th of 12 30 45 90 300 600
    assert stats.duration_buckets == [
        (0, 30, 1),
        (30, 60, 2),
        (60, 120, 1),
        (120, 300, 0),
        (300, 600, 1),
        (600, None, 1),
    ]


def test_busiest_hours_are_local(call_set):
    hours = call_stats(PERIOD).by_hour
    assert {h: n for h, n in enumerate(hours) if n} == {0: 1, 8: 2, 9: 1, 10: 2, 14: 3, 23: 1}


def test_failures_most_frequent_first(call_set):
    assert call_stats(PERIOD).failures == [("failed", 2), ("no_answer", 1), ("busy", 1)]


def test_agent_and_number_through_placed_calls(call_set):
    agent_a = call_stats(PERIOD, agent="agent-a")
    assert agent_a.total == 2 and agent_a.by_status == Counter(completed=2)
    assert agent_a.durations == Counter({90: 1, 45: 1})
    number_1 = call_stats(PERIOD, from_number="num-1")
    assert number_1.by_status == Counter(completed=1, failed=1)
    assert call_stats(PERIOD, agent="agent-a", from_number="num-1").total == 1
    assert call_stats(PERIOD, agent="nobody").total == 0


def test_one_day_and_an_empty_period(call_set):
    day = call_stats(Period(date(2026, 11, 21), date(2026, 11, 21)))
    assert day.total == 4 and list(day.by_day) == [date(2026, 11, 21)]
    empty = call_stats(Period(date(2025, 1, 1), date(2025, 1, 7)))
    assert empty.total == 0 and empty.answer_rate is None and empty.p90_duration is None
    assert len(empty.by_day) == 7 and not any(empty.by_day.values())


@pytest.mark.parametrize(
    "counts, pct, expected",
    [
        ({5: 1}, 90, 5),
        ({1: 9, 100: 1}, 90, 1),
        ({1: 8, 100: 2}, 90, 100),
        ({}, 90, None),
        ({10: 1, 20: 1, 30: 1, 40: 1, 50: 1, 60: 1, 70: 1, 80: 1, 90: 1, 100: 1}, 90, 90),
    ],
)
def test_percentile_nearest_rank(counts, pct, expected):
    assert percentile(Counter(counts), pct) == expected


def test_past_days_are_cached_and_today_is_not(call_set, settings):
    from tests.stats.dataset import local
    from voxdash.calls.models import Call

    today = date(2026, 11, 22)
    assert call_stats(PERIOD, today=today).total == 10
    Call.objects.create(
        vox_id="late20",
        direction="inbound",
        status="completed",
        customer_phone="+2348030000099",
        created_at=local("11-20 12:00"),
    )
    Call.objects.create(
        vox_id="late22",
        direction="inbound",
        status="completed",
        customer_phone="+2348030000098",
        created_at=local("11-22 12:00"),
    )
    # The 20th and 21st come from the cache; the 22nd ("today") is counted again.
    again = call_stats(PERIOD, today=today)
    assert again.total == 11 and sum(again.by_day[date(2026, 11, 20)].values()) == 3
    settings.VOX_STATS_CACHE_SECONDS = 0
    assert call_stats(PERIOD, today=today).total == 12


def test_the_workers_refresh_leaves_only_today_for_the_page(call_set, django_assert_num_queries):
    from voxdash.stats.selectors import stats_days_refresh
    from voxdash.stats.tasks import refresh_stats_days

    today = date(2026, 11, 22)
    assert stats_days_refresh(days=2, today=today) == 2  # the 20th and the 21st
    with django_assert_num_queries(2):  # today's groups and durations: the past came cached
        stats = call_stats(PERIOD, today=today)
    assert stats.total == 10
    assert refresh_stats_days.name == "voxdash.stats.tasks.refresh_stats_days"  # what beat runs


def test_a_users_own_time_zone_has_its_own_cached_days(call_set, settings):
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    today = date(2026, 11, 22)
    call_stats(PERIOD, today=today)  # Lagos (the site's zone) caches the 20th and the 21st
    with timezone.override(ZoneInfo("America/New_York")):
        new_york = call_stats(PERIOD, today=today)
        settings.VOX_STATS_CACHE_SECONDS = 0
        counted_afresh = call_stats(PERIOD, today=today)
    # c04 is 23:30 UTC on the 20th: the 21st in Lagos, the 20th in New York.
    assert new_york.by_day == counted_afresh.by_day
