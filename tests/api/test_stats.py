"""GET /api/v1/stats: the /stats/ page's figures for a period, from the rollup, in the zone asked
for or the business zone (the stats tests' hand-counted calls, tests/stats/dataset.py)."""

import pytest
import time_machine

from voxdash.api.scopes import CALLS_READ, DNC
from voxdash.calls.models import Call

from ..stats.dataset import IN_PERIOD, TZ, make_calls, place
from .test_auth import assert_error

pytestmark = pytest.mark.django_db

PERIOD = {"start": "2026-11-20", "end": "2026-11-22"}


@pytest.fixture
def call_set(db, settings):
    from voxdash.directory.models import Agent, VoiceNumber

    settings.TIME_ZONE = "UTC"
    settings.VOXDASH_BUSINESS_TIME_ZONE = TZ
    Agent.objects.create(vox_id="agent-a", name="Ada", status="active")
    VoiceNumber.objects.create(vox_id="num-1", phone_number="+2348000000001", status="active")
    make_calls()
    place("c02", agent="agent-a", number="num-1")
    place("c07", agent="agent-a", number="num-1")


def stats(api, params):
    response = api.get("/stats", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_custom_period_in_the_business_zone(api_for, call_set):
    body = stats(api_for(scopes=[CALLS_READ]), PERIOD)
    assert body["period"] == {"first_day": "2026-11-20", "last_day": "2026-11-22", "time_zone": TZ}
    assert body["total"] == len(IN_PERIOD) == 10
    assert body["by_status"] == {"completed": 5, "failed": 2, "no_answer": 1, "busy": 1, "in_progress": 1}
    assert body["by_direction"] == {"inbound": 6, "outbound": 4}
    assert body["by_day"] == [
        {"day": "2026-11-20", "calls": 3}, {"day": "2026-11-21", "calls": 4},
        {"day": "2026-11-22", "calls": 3},
    ]  # fmt: skip
    # Finished: all but c09; answered: the five completed and c08 (picked up, then dropped).
    assert body["finished"] == 9 and body["answered"] == 6
    assert body["answer_rate"] == pytest.approx(100 * 6 / 9)
    assert body["completion_rate"] == pytest.approx(100 * 5 / 9)
    assert body["average_duration_seconds"] == pytest.approx((30 + 90 + 300 + 45 + 12 + 600) / 6)
    assert body["p90_duration_seconds"] == 600


def test_another_zone_has_other_days(api_for, call_set):
    # In UTC, an hour behind Lagos: c04 (00:30 Lagos on the 21st) is on the 20th, and x02 (00:00
    # Lagos on the 23rd) is on the 22nd; x01 (23:59 Lagos on the 19th) is still out.
    body = stats(api_for(scopes=[CALLS_READ]), {**PERIOD, "time_zone": "UTC"})
    assert body["period"]["time_zone"] == "UTC"
    assert [d["calls"] for d in body["by_day"]] == [4, 3, 4]
    assert body["total"] == 11


def test_the_named_periods_end_today(api_for, call_set):
    api = api_for(scopes=[CALLS_READ])
    with time_machine.travel("2026-11-22 12:00:00+01:00", tick=False):
        assert stats(api, {})["period"]["first_day"] == "2026-11-16"  # 7 days by default
        today = stats(api, {"period": "today"})
        assert today["period"]["first_day"] == today["period"]["last_day"] == "2026-11-22"
        assert today["total"] == 3
        assert stats(api, {"period": "30d"})["total"] == 11  # x02 is tomorrow


def test_an_agent_or_number_counts_the_calls_voxdash_placed(api_for, call_set):
    body = stats(api_for(scopes=[CALLS_READ]), {**PERIOD, "agent": "agent-a"})
    assert body["total"] == 2 and body["by_status"] == {"completed": 2}
    assert stats(api_for(scopes=[CALLS_READ]), {**PERIOD, "from_number": "num-1"})["total"] == 2


def test_the_figures_are_the_rollups(api_for, call_set):
    # Calls written behind the rollup's back are not counted until it is rebuilt: the API reads
    # the rollup, as /stats/ does, not the calls.
    Call.objects.filter(vox_id="c01").delete()
    assert stats(api_for(scopes=[CALLS_READ]), PERIOD)["total"] == 10


@pytest.mark.parametrize(
    "params, field",
    [
        ({"period": "forever"}, "period"),
        ({"start": "2026-11-22", "end": "2026-11-20"}, "end"),
        ({"start": "2026-11-20"}, "end"),
        ({"start": "2025-01-01", "end": "2026-11-20"}, "end"),
        ({"start": "someday", "end": "2026-11-20"}, "start"),
        ({"agent": "agent-nobody"}, "agent"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(api_for, call_set, params, field):
    body = assert_error(api_for(scopes=[CALLS_READ]).get("/stats", params), 422, "validation_error")
    assert field in [d["field"] for d in body["details"]]


def test_stats_need_calls_read(api_for, call_set):
    assert_error(api_for(scopes=[DNC]).get("/stats"), 403, "missing_scope")
