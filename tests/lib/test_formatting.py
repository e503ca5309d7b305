from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from voxdash.lib.formatting import (
    duration_text,
    html_datetime,
    local_day_start,
    moment,
    phone_e164,
    phone_international,
    start_of_today,
)


@pytest.mark.parametrize(
    "value, shown",
    [
        ("+2348012345678", "+234 801 234 5678"),
        ("+442079460958", "+44 20 7946 0958"),
        ("not a phone", "not a phone"),
    ],
)
def test_phone_international(value, shown):
    assert phone_international(value) == shown


@pytest.mark.parametrize(
    "value, e164",
    [
        ("08012345678", "+2348012345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("=1+2", None),
        ("+1", None),
    ],
)
def test_phone_e164_reads_national_forms_as_the_region_s(value, e164):
    assert phone_e164(value, "NG") == e164


@pytest.mark.parametrize(
    "seconds, shown", [(None, "—"), ("", "—"), (0, "0:00"), (122, "2:02"), (3723, "1:02:03"), ("59", "0:59")]
)
def test_duration_text(seconds, shown):
    assert duration_text(seconds) == shown


def test_local_day_start_is_midnight_in_the_active_zone():
    with timezone.override("Africa/Lagos"):
        start = local_day_start(date(2026, 11, 21))
        assert start.isoformat() == "2026-11-21T00:00:00+01:00"
        assert start_of_today() == local_day_start(timezone.localdate())


@pytest.mark.parametrize("zone", ["UTC", "Africa/Lagos", "Europe/London", "America/St_Johns"])
def test_a_moment_reads_as_the_date_filter_writes_it(zone):
    # moment() stands in for {{ t|date:'c' }} and {{ t|date:"j M Y, H:i" }} on hot pages.
    def rendered(value, fmt: str) -> str:
        return Template("{{ t|date:fmt }}").render(Context({"t": value, "fmt": fmt}))

    with timezone.override(ZoneInfo(zone)):
        for value in (
            datetime(2026, 3, 29, 0, 59, 58, tzinfo=UTC),
            datetime(2026, 12, 2, 9, 5, 7, 123, tzinfo=UTC),
        ):
            found = moment(value)
            assert found.text == rendered(value, "j M Y, H:i")
            assert found.iso == rendered(value.replace(microsecond=0), "c")  # HTML refuses µs
            assert moment(value, seconds=True).text == rendered(value, "j M Y, H:i:s")
    assert moment(None) is None


def test_html_datetime_is_to_the_second_with_the_offset():
    # <time datetime> allows three digits of a fraction at most; the date filter's 'c' writes six.
    value = datetime(2026, 12, 2, 9, 5, 7, 123456, tzinfo=UTC)
    with timezone.override(ZoneInfo("Africa/Lagos")):
        assert html_datetime(value) == "2026-12-02T10:05:07+01:00"
    assert html_datetime(value, ZoneInfo("UTC")) == "2026-12-02T09:05:07+00:00"
    assert html_datetime(None) == ""
