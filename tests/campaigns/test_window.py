"""The calling window at dial time, with a frozen clock, in the campaign's own time zone: its
edges, the days, a window past midnight, and both daylight saving changes (Europe/London,
29 March and 25 October 2026), for first attempts and for retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voxdash.campaigns.models import CampaignRow
from voxdash.campaigns.running import campaigns_dispatch

from .dispatching import campaign_ready, phone, row

pytestmark = pytest.mark.django_db
RowState = CampaignRow.State


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


LONDON_9_TO_5 = {"time_zone": "Europe/London", "window_start": "09:00", "window_end": "17:00"}


@pytest.mark.parametrize(
    ("window", "at", "dialled"),
    [
        # December: London is on GMT (UTC+0).
        (LONDON_9_TO_5, "2026-12-01 08:59:59", False),
        (LONDON_9_TO_5, "2026-12-01 09:00:00", True),
        (LONDON_9_TO_5, "2026-12-01 16:59:59", True),
        (LONDON_9_TO_5, "2026-12-01 17:00:00", False),
        # Saturday 28 March, GMT; Sunday 29 March, BST (UTC+1): 09:00 there is 08:00 UTC.
        (LONDON_9_TO_5, "2026-03-28 08:30:00", False),
        (LONDON_9_TO_5, "2026-03-28 16:30:00", True),
        (LONDON_9_TO_5, "2026-03-29 07:59:59", False),
        (LONDON_9_TO_5, "2026-03-29 08:00:00", True),
        (LONDON_9_TO_5, "2026-03-29 15:59:59", True),
        (LONDON_9_TO_5, "2026-03-29 16:00:00", False),
        # Saturday 24 October, BST; Sunday 25 October, GMT again.
        (LONDON_9_TO_5, "2026-10-24 08:00:00", True),
        (LONDON_9_TO_5, "2026-10-24 16:00:00", False),
        (LONDON_9_TO_5, "2026-10-25 08:30:00", False),
        (LONDON_9_TO_5, "2026-10-25 09:00:00", True),
        (LONDON_9_TO_5, "2026-10-25 16:30:00", True),
        (LONDON_9_TO_5, "2026-10-25 17:00:00", False),
        # The hour the clocks skip: a window opening at 01:30 is open once 02:00 BST comes.
        ({**LONDON_9_TO_5, "window_start": "01:30", "window_end": "03:00"}, "2026-03-29 00:59:59", False),
        ({**LONDON_9_TO_5, "window_start": "01:30", "window_end": "03:00"}, "2026-03-29 01:00:00", True),
        # The hour that happens twice: 01:15 comes round twice, and is inside both times.
        ({**LONDON_9_TO_5, "window_start": "01:00", "window_end": "01:30"}, "2026-10-25 00:15:00", True),
        ({**LONDON_9_TO_5, "window_start": "01:00", "window_end": "01:30"}, "2026-10-25 01:15:00", True),
        ({**LONDON_9_TO_5, "window_start": "01:00", "window_end": "01:30"}, "2026-10-25 01:45:00", False),
        # Weekdays only (Tuesday 1 December, Saturday 5 December), in Lagos (UTC+1).
        (
            {"window_start": "09:00", "window_end": "17:00", "window_days": "mon-fri"},
            "2026-12-01 08:00:00",
            True,
        ),
        (
            {"window_start": "09:00", "window_end": "17:00", "window_days": "mon-fri"},
            "2026-12-05 10:00:00",
            False,
        ),
        # Past midnight, Fridays: Saturday 01:30 is still Friday night's window; Saturday 22:30 is not.
        ({"window_start": "22:00", "window_end": "02:00", "window_days": "fri"}, "2026-12-05 00:30:00", True),
        (
            {"window_start": "22:00", "window_end": "02:00", "window_days": "fri"},
            "2026-12-05 21:30:00",
            False,
        ),
        (
            {"window_start": "22:00", "window_end": "02:00", "window_days": "fri"},
            "2026-12-05 01:00:00",
            False,
        ),
    ],
)
def test_a_row_is_dialled_only_inside_the_campaigns_window(
    dispatch_settings, simulator, caller, window, at, dialled
):
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller, **window)

    sent = campaigns_dispatch(now=utc(at))

    assert sent == (1 if dialled else 0)
    assert simulator.stats()["dialed"] == sent
    assert row(campaign, 0).state == (RowState.IN_FLIGHT if dialled else RowState.PENDING)


def test_a_retry_across_the_spring_change_waits_for_the_new_mornings_nine(
    dispatch_settings, simulator, webhooks, caller
):
    campaign = campaign_ready(
        simulator,
        phones=[phone(1, "no_answer")],
        user=caller,
        max_attempts=2,
        retry_after_minutes=30,
        **LONDON_9_TO_5,
    )
    ten_to_five = utc("2026-03-28 16:50:00")  # Saturday, GMT
    campaigns_dispatch(now=ten_to_five)
    webhooks.finish()
    campaigns_dispatch(now=ten_to_five)
    assert row(campaign, 0).next_attempt_at == ten_to_five + timedelta(minutes=30)

    assert campaigns_dispatch(now=utc("2026-03-28 17:20:00")) == 0  # due, but the window closed
    assert campaigns_dispatch(now=utc("2026-03-29 07:59:59")) == 0  # 08:59:59 BST
    assert campaigns_dispatch(now=utc("2026-03-29 08:00:00")) == 1  # 09:00 BST
    assert row(campaign, 0).attempts == 2
