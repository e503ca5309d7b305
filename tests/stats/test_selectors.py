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


def test_an_agents_past_days_are_cached_and_today_is_not(call_set, settings):
    # An agent is what the rollup cannot answer: those figures are counted, past days cached.
    from tests.stats.dataset import local, place
    from voxdash.calls.models import Call

    today = date(2026, 11, 22)
    assert call_stats(PERIOD, agent="agent-a", today=today).total == 2
    for vox_id, when in (("late20", "11-20 12:00"), ("late22", "11-22 12:00")):
        Call.objects.create(
            vox_id=vox_id,
            direction="inbound",
            status="completed",
            customer_phone="+2348030000099",
            created_at=local(when),
        )
        place(vox_id, agent="agent-a", number="num-2")
    # The 20th and 21st come from the cache; the 22nd ("today") is counted again.
    again = call_stats(PERIOD, agent="agent-a", today=today)
    assert again.total == 3 and sum(again.by_day[date(2026, 11, 20)].values()) == 1
    settings.VOX_STATS_CACHE_SECONDS = 0
    assert call_stats(PERIOD, agent="agent-a", today=today).total == 4


def test_every_call_is_three_queries_of_the_rollup_and_never_cached(call_set, django_assert_num_queries):
    from voxdash.mirror.calls import CallEvent, call_merge_event
    from voxdash.vox.statuses import CALL_STARTED

    from .dataset import local

    today = date(2026, 11, 22)
    with django_assert_num_queries(3):  # by local day and status, by local hour and direction, by duration
        assert call_stats(PERIOD, today=today).total == 10
    # A call the mirror learns of now is on the page at once, on a past day too.
    call_merge_event(
        CallEvent(call_id="late", type=CALL_STARTED, at=local("11-20 12:00"), direction="inbound")
    )
    stats = call_stats(PERIOD, today=today)
    assert stats.total == 11 and stats.by_day[date(2026, 11, 20)]["in_progress"] == 1


ZONES = ["Africa/Lagos", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "UTC"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    "first, last", [(FIRST_DAY, LAST_DAY), (LAST_DAY, LAST_DAY), (date(2026, 11, 19), date(2026, 11, 23))]
)
def test_the_rollup_equals_a_direct_count_in_any_zone(call_set, zone, first, last):
    # A user's own zone has other days and hours (+5:30, +5:45 and +13:45 among them): the
    # quarter-hour slots must sum to what counting the calls in that zone gives.
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from voxdash.stats.selectors import call_stats_counted

    period = Period(first, last)
    with timezone.override(ZoneInfo(zone)):
        assert call_stats(period) == call_stats_counted(period, cached=False)


def test_a_users_own_time_zone_has_its_own_days(call_set, settings):
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    with timezone.override(ZoneInfo("America/New_York")):
        new_york = call_stats(PERIOD)
    # c04 is 23:30 UTC on the 20th: the 21st in Lagos, the 20th in New York.
    assert call_stats(PERIOD).by_day[date(2026, 11, 21)]["no_answer"] == 1
    assert new_york.by_day[date(2026, 11, 20)]["no_answer"] == 1


@pytest.mark.django_db
def test_half_hour_summer_time_is_read_from_quarter_hours():
    # Lord Howe Island goes from +11 to +10:30 on 4 April 2027: a period across it has local hours
    # that start at half past in UTC, so whole UTC hours cannot make them up.
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from voxdash.calls.models import Call
    from voxdash.mirror.rollup import rollup_rebuild
    from voxdash.stats.selectors import _rollup_span, call_stats_counted

    first = datetime(2027, 4, 2, 12, 0, tzinfo=UTC)
    Call.objects.bulk_create(
        Call(
            vox_id=f"lh{n}",
            direction="inbound",
            status="completed",
            customer_phone="+61200000000",
            duration_seconds=n % 7,
            created_at=first + timedelta(minutes=37 * n),
        )
        for n in range(200)
    )
    rollup_rebuild()
    across = Period(date(2027, 4, 3), date(2027, 4, 6))
    with timezone.override(ZoneInfo("Australia/Lord_Howe")):
        assert _rollup_span(across) == 15 and _rollup_span(Period(date(2027, 4, 6), date(2027, 4, 7))) == 15
        assert _rollup_span(Period(date(2027, 3, 1), date(2027, 3, 7))) == 60  # summer: +11 only
        stats = call_stats(across)
        assert stats == call_stats_counted(across, cached=False) and stats.total > 100
    with timezone.override(ZoneInfo("Asia/Kolkata")):
        assert _rollup_span(across) == 15
    with timezone.override(ZoneInfo("America/New_York")):
        assert _rollup_span(across) == 60
