"""Calling windows: wall-clock hours on chosen days, in one time zone, across DST and midnight."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from voxdash.lib.window import CallingWindow, days_codes, days_describe, days_parse, window_parse

LONDON = ZoneInfo("Europe/London")
LAGOS = ZoneInfo("Africa/Lagos")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_nine_to_five_in_london_moves_with_the_clocks():
    window = window_parse("mon-fri 09:00-17:00", LONDON)
    # Friday 27 March 2026: GMT, so 09:00 local is 09:00 UTC.
    assert not window.contains(utc("2026-03-27 08:59"))
    assert window.contains(utc("2026-03-27 09:00"))
    assert not window.contains(utc("2026-03-27 17:00"))
    # Monday 30 March, after the clocks went forward (BST): 09:00 local is 08:00 UTC.
    assert not window.contains(utc("2026-03-30 07:59"))
    assert window.contains(utc("2026-03-30 08:00"))
    assert window.contains(utc("2026-03-30 15:59"))
    assert not window.contains(utc("2026-03-30 16:00"))
    # Monday 26 October, after they went back: 09:00 local is 09:00 UTC again.
    assert not window.contains(utc("2026-10-26 08:30"))
    assert window.contains(utc("2026-10-26 09:00"))


def test_next_open_skips_the_weekend_and_the_dst_change():
    window = window_parse("mon-fri 09:00-17:00", LONDON)
    opens = window.next_open(utc("2026-03-27 17:30"))  # Friday evening, GMT
    assert opens.astimezone(UTC) == utc("2026-03-30 08:00")  # Monday 09:00 BST
    assert window.next_open(utc("2026-03-30 10:00")) == utc("2026-03-30 10:00")  # open now


def test_a_window_past_midnight_belongs_to_the_day_it_starts():
    window = window_parse("fri 22:00-02:00", LAGOS)  # Lagos is UTC+1 all year
    assert window.contains(utc("2026-03-27 21:00"))  # Friday 22:00
    assert window.contains(utc("2026-03-28 00:59"))  # Saturday 01:59, still Friday's window
    assert not window.contains(utc("2026-03-28 01:00"))  # Saturday 02:00
    assert not window.contains(utc("2026-03-28 21:30"))  # Saturday 22:30: not a Saturday window
    assert not window.contains(utc("2026-03-26 23:30"))  # Friday 00:30: Thursday's, which is closed


def test_no_days_never_opens():
    window = CallingWindow(start=time(9), end=time(17), days=frozenset(), tz=LAGOS)
    assert not window.contains(utc("2026-03-27 10:00"))
    assert window.next_open(utc("2026-03-27 10:00")) is None


@pytest.mark.parametrize(
    ("codes", "expected"),
    [("mon-fri", {0, 1, 2, 3, 4}), ("sat,sun", {5, 6}), (["tue", "thu"], {1, 3}), ("fri-mon", {4, 5, 6, 0})],
)
def test_days_parse(codes, expected):
    assert days_parse(codes) == frozenset(expected)


def test_days_parse_names_a_bad_day():
    with pytest.raises(ValueError, match="'funday'"):
        days_parse("mon,funday")


def test_describe_reads_as_people_write_it():
    assert window_parse("mon-fri 08:00-20:00", LAGOS).describe() == "Mon-Fri 08:00-20:00 (Africa/Lagos)"
    assert window_parse("08:00-20:00", LAGOS).describe() == "Every day 08:00-20:00 (Africa/Lagos)"
    assert days_describe(frozenset({0, 2})) == "Mon, Wed"
    assert days_codes(frozenset({4, 0})) == ["mon", "fri"]


def test_always_means_no_window_and_nonsense_is_refused():
    assert window_parse("always", LAGOS) is None
    assert window_parse("", LAGOS) is None
    with pytest.raises(ValueError, match="expected e.g."):
        window_parse("weekdays nine to five", LAGOS)


def test_open_minutes_count_only_the_open_hours_by_the_real_clock():
    window = window_parse("mon-fri 09:00-17:00", LONDON)
    # Friday 16:00 GMT to Monday 10:00 BST (09:00 UTC): an hour on Friday, an hour on Monday.
    assert window.open_minutes_between(utc("2026-03-27 16:00"), utc("2026-03-30 09:00")) == 120
    assert window.open_minutes_between(utc("2026-03-28 10:00"), utc("2026-03-29 23:00")) == 0  # weekend
    # Any zone in, the same span: Lagos 10:30 is London 09:30 (GMT).
    assert (
        window.open_minutes_between(datetime(2026, 3, 27, 10, 30, tzinfo=LAGOS), utc("2026-03-27 10:00"))
        == 30
    )
    assert window.open_minutes_between(utc("2026-03-27 12:00"), utc("2026-03-27 11:00")) == 0  # backwards


def test_open_minutes_of_a_window_past_midnight_and_across_a_dst_change():
    window = window_parse("sat 22:00-06:00", LONDON)  # Saturday 28 March 2026: clocks go forward at 01:00
    # 22:00 GMT to 06:00 BST is 7 real hours, not 8.
    assert window.open_minutes_between(utc("2026-03-28 12:00"), utc("2026-03-29 12:00")) == 7 * 60
    # The part of it that runs into Sunday is still counted from a Sunday start.
    assert window.open_minutes_between(utc("2026-03-29 04:00"), utc("2026-03-29 12:00")) == 60
    assert (
        CallingWindow(start=time(9), end=time(17), days=frozenset(), tz=LAGOS).open_minutes_between(
            utc("2026-03-27 00:00"), utc("2026-04-27 00:00")
        )
        == 0
    )
