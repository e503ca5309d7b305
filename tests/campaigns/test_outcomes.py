"""Outcomes: each attempt's end comes from the mirror (webhooks or the sync), decides the row or
schedules its next attempt, and arrives in any order, any number of times, without counting twice
or bringing a settled row back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vox_simulator import Simulator, keys
from voxdash.calls.sync import calls_sync
from voxdash.campaigns import queue
from voxdash.campaigns.models import Campaign, CampaignRow
from voxdash.campaigns.running import campaigns_dispatch
from voxdash.placements.models import PlacedCall
from voxdash.vox import get_client, reset_client

from .dispatching import NOON, campaign_ready, dials_per_key, phone, row, states

pytestmark = pytest.mark.django_db
RowState = CampaignRow.State


def events_of(sim: Simulator, phone_number: str) -> dict[str, dict]:
    """The events of the latest call to this phone, by type."""
    call = next(c for c in sim.store.all_calls() if c.customer_phone == phone_number)
    return {e["type"]: e for e in sim.events() if e["data"]["callId"] == call.id}


def run_call(sim: Simulator, phone_number: str) -> dict[str, dict]:
    call = next(c for c in sim.store.all_calls() if c.customer_phone == phone_number)
    for _ in range(3):
        sim.advance(call.id)
    return events_of(sim, phone_number)


def test_no_answer_is_tried_again_after_retry_after_minutes_with_a_new_key(
    dispatch_settings, simulator, webhooks, caller
):
    number = phone(1, "no_answer")
    simulator.plan_outcomes({number: ["no_answer", "completed"]})
    campaign = campaign_ready(simulator, phones=[number], user=caller, max_attempts=3, retry_after_minutes=30)
    campaigns_dispatch(now=NOON)
    webhooks.finish()

    campaigns_dispatch(now=NOON)
    waiting = row(campaign, 0)
    assert (waiting.state, waiting.attempts, waiting.last_status) == (RowState.PENDING, 1, "no_answer")
    assert waiting.next_attempt_at == NOON + timedelta(minutes=30)
    assert waiting.reason.startswith(
        "No answer on attempt 1 of 3; next attempt from 01 Dec 13:30 (Africa/Lagos)"
    )

    assert campaigns_dispatch(now=NOON + timedelta(minutes=29)) == 0
    assert campaigns_dispatch(now=NOON + timedelta(minutes=30)) == 1
    webhooks.finish()
    campaigns_dispatch(now=NOON + timedelta(minutes=31))

    done = row(campaign, 0)
    assert (done.state, done.attempts, done.last_status, done.reason) == (
        RowState.COMPLETED,
        2,
        "completed",
        "",
    )
    assert dials_per_key(simulator) == {str(done.key(1)): 1, str(done.key(2)): 1}
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.FINISHED


def test_max_attempts_is_the_limit(dispatch_settings, simulator, webhooks, caller):
    campaign = campaign_ready(
        simulator, phones=[phone(1, "busy")], user=caller, max_attempts=2, retry_after_minutes=0
    )
    for _ in range(4):
        campaigns_dispatch(now=NOON)
        webhooks.finish()
    campaigns_dispatch(now=NOON)

    settled = row(campaign, 0)
    assert (settled.state, settled.attempts) == (RowState.BUSY, 2)
    assert settled.reason == "Busy on each of 2 attempts."
    assert simulator.stats()["dialed_by_phone"] == {phone(1, "busy"): 2}


def test_a_failed_call_without_attempts_left_is_failed_with_voxs_reason(
    dispatch_settings, simulator, webhooks, caller
):
    campaign = campaign_ready(simulator, phones=[phone(1, "failed")], user=caller)
    campaigns_dispatch(now=NOON)
    webhooks.finish()
    campaigns_dispatch(now=NOON)

    failed = row(campaign, 0)
    assert (failed.state, failed.last_status, failed.reason) == (
        RowState.FAILED,
        "failed",
        "Vox: carrier_rejected",
    )
    assert failed.last_call_id and failed.finished_at == NOON


def test_a_retry_due_outside_the_window_waits_for_it_to_open(dispatch_settings, simulator, webhooks, caller):
    # Mon-Fri 09:00-17:00 in Lagos (UTC+1). The first call ends at 16:50 there on Tuesday 1 Dec.
    campaign = campaign_ready(
        simulator,
        phones=[phone(1, "no_answer")],
        user=caller,
        window_start="09:00",
        window_end="17:00",
        window_days="mon-fri",
        max_attempts=2,
        retry_after_minutes=30,
    )
    ten_to_five = NOON.replace(hour=15, minute=50)
    campaigns_dispatch(now=ten_to_five)
    webhooks.finish()
    campaigns_dispatch(now=ten_to_five)
    assert row(campaign, 0).next_attempt_at == ten_to_five + timedelta(minutes=30)  # 17:20 in Lagos

    assert campaigns_dispatch(now=ten_to_five + timedelta(minutes=30)) == 0
    assert campaigns_dispatch(now=NOON.replace(day=2, hour=7, minute=59)) == 0  # Wed 08:59
    assert campaigns_dispatch(now=NOON.replace(day=2, hour=8)) == 1  # Wed 09:00
    assert row(campaign, 0).attempts == 2


def test_no_outcome_within_the_timeout_is_unknown_and_not_tried_again(
    dispatch_settings, simulator, webhooks, caller
):
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller, max_attempts=3)
    campaigns_dispatch(now=NOON)
    timeout = timedelta(minutes=dispatch_settings.VOXDASH_CAMPAIGN_OUTCOME_TIMEOUT_MINUTES)

    campaigns_dispatch(now=NOON + timeout - timedelta(seconds=1))
    assert row(campaign, 0).state == RowState.IN_FLIGHT
    campaigns_dispatch(now=NOON + timeout + timedelta(seconds=1))

    unknown = row(campaign, 0)
    assert (unknown.state, unknown.attempts) == (RowState.UNKNOWN, 1)
    assert unknown.reason == "No outcome heard from Vox within 60 minutes; not called again."
    webhooks.finish()  # the outcome turns up after all: too late to change what was decided
    campaigns_dispatch(now=NOON + timeout + timedelta(minutes=5))
    assert row(campaign, 0).state == RowState.UNKNOWN
    assert simulator.stats()["dialed"] == 1


def test_completed_before_started_each_twice_completes_the_row_once(
    dispatch_settings, simulator, webhooks, caller
):
    number = phone(1)
    campaign = campaign_ready(simulator, phones=[number], user=caller, max_attempts=2, retry_after_minutes=0)
    campaigns_dispatch(now=NOON)
    events = run_call(simulator, number)

    for event_type in ("vox.call.completed", "vox.call.completed", "vox.call.started", "vox.call.started"):
        webhooks.deliver(events[event_type])
        campaigns_dispatch(now=NOON)
        settled = row(campaign, 0)
        assert (settled.state, settled.attempts, settled.last_status) == (RowState.COMPLETED, 1, "completed")

    assert simulator.stats()["dialed"] == 1
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.FINISHED


def test_a_late_copy_of_the_first_attempts_end_leaves_the_second_attempt_alone(
    dispatch_settings, simulator, webhooks, caller
):
    number = phone(1, "no_answer")
    simulator.plan_outcomes({number: ["no_answer", "completed"]})
    campaign = campaign_ready(simulator, phones=[number], user=caller, max_attempts=2, retry_after_minutes=0)
    campaigns_dispatch(now=NOON)
    first_end = run_call(simulator, number)["vox.call.failed"]
    webhooks.deliver(first_end)
    campaigns_dispatch(now=NOON)  # settles attempt 1, dials attempt 2
    assert (row(campaign, 0).state, row(campaign, 0).attempts) == (RowState.IN_FLIGHT, 2)

    webhooks.deliver(first_end)  # the same delivery again
    webhooks.deliver({**first_end, "id": first_end["id"] + "x"})  # and as an event of its own
    campaigns_dispatch(now=NOON)

    current = row(campaign, 0)
    assert (current.state, current.attempts, current.last_status) == (RowState.IN_FLIGHT, 2, "no_answer")
    assert simulator.stats()["dialed_by_phone"] == {number: 2}


def test_outcomes_heard_only_through_the_sync(dispatch_settings, simulator, caller):
    campaign = campaign_ready(simulator, phones=[phone(1), phone(2, "busy")], user=caller)
    campaigns_dispatch(now=NOON)
    run_call(simulator, phone(1))
    run_call(simulator, phone(2, "busy"))

    calls_sync(full=True, client=get_client())
    campaigns_dispatch(now=NOON)

    assert states(campaign) == {RowState.COMPLETED: 1, RowState.BUSY: 1}


def test_outcomes_of_calls_listed_under_another_id_than_the_post_answered(dispatch_settings, caller):
    with Simulator(port=0, seed=1, calls=20, lifecycle_step_seconds=None, post_id_matches_list=False) as sim:
        dispatch_settings.VOX_API_BASE_URL = sim.base_url
        dispatch_settings.VOX_API_KEY = keys.DEMO_KEY
        reset_client()
        campaign = campaign_ready(sim, phones=[phone(1), phone(2, "no_answer")], user=caller)
        campaigns_dispatch(now=NOON)
        for number in (phone(1), phone(2, "no_answer")):
            run_call(sim, number)
        calls_sync(full=True, client=get_client())
        campaigns_dispatch(now=NOON)
        listed = {c.customer_phone: c.id for c in sim.store.all_calls()}
    reset_client()

    assert states(campaign) == {RowState.COMPLETED: 1, RowState.NO_ANSWER: 1}
    for index, number in enumerate((phone(1), phone(2, "no_answer"))):
        settled = row(campaign, index)
        assert settled.last_call_id == listed[number]
        assert PlacedCall.objects.get(idempotency_key=settled.key()).vox_placement_id != listed[number]


def test_an_attempts_call_changing_in_the_mirror_queues_one_dispatch(
    dispatch_settings, simulator, webhooks, caller, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(queue.campaigns_dispatch, "apply_async", lambda countdown: queued.append(countdown))
    campaign_ready(simulator, phones=[phone(1), phone(2)], user=caller)
    campaigns_dispatch(now=NOON)
    seeded_live = next(
        c for c in simulator.store.all_calls() if not c.terminal and c.customer_phone[:6] != "+23480"
    )

    with django_capture_on_commit_callbacks(execute=True):
        for event in simulator.advance(seeded_live.id):  # not a campaign's call
            webhooks.deliver(event)
    assert queued == []

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.finish()  # both attempts' calls change several times within a second
    assert queued == [queue.OUTCOME_DEBOUNCE_SECONDS]  # one run, after the burst


def test_starting_asks_for_a_run_once_committed(monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(queue.campaigns_dispatch, "apply_async", lambda countdown: queued.append(countdown))

    with django_capture_on_commit_callbacks(execute=True):
        queue.campaigns_dispatch_request()
        assert queued == []  # not before the start is committed: the run must see it

    assert queued == [None]  # at once


def test_a_broker_that_is_down_costs_the_page_nothing(
    monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def down(countdown):
        raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(queue.campaigns_dispatch, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        queue.campaigns_dispatch_request()  # no exception: beat runs the dispatcher anyway

    assert "campaign dispatch not queued: the broker is unreachable (ConnectionRefusedError)" in caplog.text
