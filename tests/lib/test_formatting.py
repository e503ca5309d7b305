from datetime import date

import pytest
from django.utils import timezone

from voxdash.lib.formatting import (
    duration_text,
    local_day_start,
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
