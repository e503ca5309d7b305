"""The dispatcher against the simulator over HTTP: each row dialled once per attempt, never more
than max_in_flight at once, whatever repeats the send (a lost response, an error, a worker that
died between recording and sending, two runs at once); the do-not-call list and the calling
window checked at dial time; cancel and pause stop new dials at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from voxdash.campaigns import running, tasks
from voxdash.campaigns.models import Campaign, CampaignEvent, CampaignRow
from voxdash.campaigns.running import CANCEL, PAUSE, RESUME, campaign_act, campaigns_dispatch
from voxdash.directory.models import DoNotCallEntry
from voxdash.placements.models import PlacedCall
from voxdash.placements.services import placement_send
from voxdash.vox import reset_client
from voxdash.vox.budget import BACKGROUND

from .dispatching import NOON, campaign_keys, campaign_ready, dials_per_key, phone, row, states

pytestmark = pytest.mark.django_db
RowState = CampaignRow.State
POSTS = "POST /v1/vox/calls"


def posts(sim) -> int:
    return sim.stats()["requests_by_route"].get(POSTS, 0)


def in_flight(campaign) -> int:
    return CampaignRow.objects.filter(
        campaign=campaign, state__in=(RowState.DIALING, RowState.IN_FLIGHT)
    ).count()


def test_rows_are_dialled_lowest_first_within_max_in_flight_each_once(
    dispatch_settings, simulator, webhooks, caller
):
    phones = [phone(i) for i in range(12)]
    campaign = campaign_ready(simulator, phones=phones, user=caller, max_in_flight=5)

    assert campaigns_dispatch(now=NOON) == 5
    assert campaigns_dispatch(now=NOON) == 0  # no slot frees until an outcome is heard
    assert sorted(simulator.stats()["dialed_by_phone"]) == phones[:5]
    assert states(campaign) == {RowState.IN_FLIGHT: 5, RowState.PENDING: 7}

    while webhooks.finish():
        campaigns_dispatch(now=NOON)
        assert in_flight(campaign) <= 5

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.FINISHED
    assert states(campaign) == {RowState.COMPLETED: 12}
    assert set(simulator.stats()["dialed_by_phone"].values()) == {1}
    assert dials_per_key(simulator) == {key: 1 for key in campaign_keys(campaign)}
    assert len(campaign_keys(campaign)) == 12 and posts(simulator) == 12
    assert CampaignEvent.objects.filter(campaign=campaign, action=CampaignEvent.Action.FINISHED).count() == 1


def test_each_attempt_is_one_placed_call_sent_with_the_rows_values(dispatch_settings, simulator, caller):
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller)

    campaigns_dispatch(now=NOON)

    first = row(campaign, 0)
    [record] = PlacedCall.objects.all()
    assert record.idempotency_key == first.key(1)
    assert record.origin == PlacedCall.Origin.CAMPAIGN and record.origin_ref == f"{campaign.pk}:2:1"
    assert (record.user, record.username, record.outcome) == (caller, "cal", PlacedCall.Outcome.QUEUED)
    assert record.payload == {
        "customer_phone": phone(1),
        "customer_name": "Customer 0",
        "purpose": "payment_reminder",
        "context": "Remind Customer 0 about invoice INV-0",
        "business_voice_number_id": campaign.business_voice_number_id,
        "ai_agent_id": campaign.ai_agent_id,
    }
    assert (first.state, first.attempts, first.dial_started_at) == (RowState.IN_FLIGHT, 1, NOON)


def test_a_lost_response_is_sent_again_with_the_same_key_and_dialled_once(
    dispatch_settings, simulator, caller
):
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller)
    simulator.faults.lose_response_next(1)

    assert campaigns_dispatch(now=NOON) == 1

    assert posts(simulator) == 2 and simulator.stats()["dialed"] == 1
    assert row(campaign, 0).state == RowState.IN_FLIGHT


def test_an_unknown_outcome_waits_briefly_then_goes_again_with_the_same_key(
    dispatch_settings, simulator, caller
):
    dispatch_settings.VOX_MAX_RETRIES = 1
    reset_client()
    campaign = campaign_ready(simulator, phones=[phone(1), phone(2)], user=caller)
    simulator.faults.lose_response_next(1)  # Vox dials, the answer is lost; the retry meets a 503
    simulator.faults.queue(503, count=1, path="/v1/vox/calls", method="POST")

    assert campaigns_dispatch(now=NOON) == 0

    first = row(campaign, 0)
    assert (first.state, first.attempts, first.next_attempt_at) == (
        RowState.DIALING,
        1,
        NOON + running.RESEND_PAUSE,
    )
    assert row(campaign, 1).state == RowState.PENDING  # Vox is struggling: the run stopped
    assert campaigns_dispatch(now=NOON + timedelta(seconds=14)) == 1  # the other row; this one waits
    assert row(campaign, 0).state == RowState.DIALING

    assert campaigns_dispatch(now=NOON + timedelta(seconds=15)) == 1
    first = row(campaign, 0)
    assert (first.state, first.attempts) == (RowState.IN_FLIGHT, 1)
    assert simulator.stats()["dialed_by_phone"] == {phone(1): 1, phone(2): 1}
    assert PlacedCall.objects.filter(idempotency_key=first.key()).count() == 1  # one record per attempt


def test_a_worker_that_died_before_sending_is_replaced_after_its_lease(dispatch_settings, simulator, caller):
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller)
    [claim] = running._claim(campaign_id=campaign.pk, now=NOON)  # ... and the worker is killed
    lease = running.dial_lease()

    assert campaigns_dispatch(now=NOON + lease - timedelta(seconds=1)) == 0
    assert posts(simulator) == 0
    assert campaigns_dispatch(now=NOON + lease) == 1

    sent = row(campaign, 0)
    assert (sent.state, sent.attempts) == (RowState.IN_FLIGHT, 1)
    assert dials_per_key(simulator) == {str(claim.row.key()): 1}


def test_a_worker_that_died_after_vox_accepted_is_not_sent_again(dispatch_settings, simulator, caller):
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller)
    [claim] = running._claim(campaign_id=campaign.pk, now=NOON)
    record = running._attempt_record(campaign=campaign, row=claim.row, key=claim.row.key(), records=[])
    placement_send(record=record, priority=BACKGROUND)  # accepted; killed before the row said so

    campaigns_dispatch(now=NOON + running.dial_lease())

    assert row(campaign, 0).state == RowState.IN_FLIGHT
    assert posts(simulator) == 1 and simulator.stats()["dialed"] == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_never_exceed_max_in_flight_nor_dial_a_row_twice(
    dispatch_settings, simulator, webhooks, caller
):
    campaign = campaign_ready(simulator, phones=[phone(i) for i in range(30)], user=caller, max_in_flight=4)

    def run_two_at_once() -> None:
        barrier = threading.Barrier(2)

        def run():
            barrier.wait()
            try:
                campaigns_dispatch(now=NOON)
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    run_two_at_once()
    assert in_flight(campaign) == 4 and simulator.stats()["dialed"] == 4
    while webhooks.finish():
        run_two_at_once()
        live = sum(
            1 for c in simulator.store.all_calls() if c.customer_phone.startswith("+23480") and not c.terminal
        )
        assert in_flight(campaign) <= 4 and live <= 4

    assert states(campaign) == {RowState.COMPLETED: 30}
    assert set(dials_per_key(simulator).values()) == {1} and len(dials_per_key(simulator)) == 30


def test_a_number_put_on_the_do_not_call_list_after_the_draft_is_skipped_at_dial_time(
    dispatch_settings, simulator, caller
):
    campaign = campaign_ready(simulator, phones=[phone(1), phone(2)], user=caller)
    DoNotCallEntry.objects.create(phone=phone(1), reason="asked on the phone")

    assert campaigns_dispatch(now=NOON) == 1

    skipped = row(campaign, 0)
    assert (skipped.state, skipped.attempts) == (RowState.DO_NOT_CALL, 0)
    assert "do-not-call list" in skipped.reason
    assert simulator.stats()["dialed_by_phone"] == {phone(2): 1}
    assert not PlacedCall.objects.filter(customer_phone=phone(1)).exists()


def test_nothing_is_dialled_outside_the_window(dispatch_settings, simulator, caller):
    # 09:00-17:00 in Lagos (UTC+1); NOON is 13:00 there.
    campaign = campaign_ready(
        simulator, phones=[phone(1)], user=caller, window_start="09:00", window_end="17:00"
    )

    assert campaigns_dispatch(now=NOON.replace(hour=16)) == 0  # 17:00 in Lagos: closed
    assert campaigns_dispatch(now=NOON.replace(hour=7, minute=59)) == 0  # 08:59
    assert posts(simulator) == 0 and row(campaign, 0).state == RowState.PENDING

    assert campaigns_dispatch(now=NOON.replace(hour=8)) == 1  # 09:00


def test_cancel_stops_the_next_dial_at_once_and_placed_calls_are_still_recorded(
    dispatch_settings, simulator, webhooks, caller, monkeypatch
):
    campaign = campaign_ready(simulator, phones=[phone(i) for i in range(6)], user=caller, max_in_flight=6)
    sent = []

    def send_then_cancel(*, record, priority):
        attempt = placement_send(record=record, priority=priority)
        sent.append(record.customer_phone)
        if len(sent) == 2:  # someone presses Cancel while the third is about to go
            campaign_act(campaign_id=campaign.pk, action=CANCEL, user=caller)
        return attempt

    monkeypatch.setattr(running, "placement_send", send_then_cancel)

    assert campaigns_dispatch(now=NOON) == 2
    assert states(campaign) == {RowState.IN_FLIGHT: 2, RowState.CANCELLED: 4}
    assert posts(simulator) == 2

    webhooks.finish()
    campaigns_dispatch(now=NOON)

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.CANCELLED
    assert states(campaign) == {RowState.COMPLETED: 2, RowState.CANCELLED: 4}
    assert posts(simulator) == 2
    # The rows claimed but not sent were given back: their attempt never happened.
    assert set(CampaignRow.objects.filter(state=RowState.CANCELLED).values_list("attempts", flat=True)) == {0}


def test_a_paused_campaign_dials_nothing_but_records_outcomes_then_resumes(
    dispatch_settings, simulator, webhooks, caller
):
    campaign = campaign_ready(simulator, phones=[phone(i) for i in range(4)], user=caller, max_in_flight=2)
    campaigns_dispatch(now=NOON)
    campaign_act(campaign_id=campaign.pk, action=PAUSE, user=caller)

    webhooks.finish()
    assert campaigns_dispatch(now=NOON) == 0
    assert states(campaign) == {RowState.COMPLETED: 2, RowState.PENDING: 2}

    campaign_act(campaign_id=campaign.pk, action=RESUME, user=caller)
    assert campaigns_dispatch(now=NOON) == 2


def test_vox_refusing_a_row_fails_that_row_only(dispatch_settings, simulator, caller):
    campaign = campaign_ready(simulator, phones=[phone(1), phone(2)], user=caller)
    simulator.faults.queue(
        422,
        body={
            "error": "validation_error",
            "message": "Validation failed",
            "details": [{"field": "context", "message": "context must be at most 2000 characters"}],
        },
        path="/v1/vox/calls",
        method="POST",
    )

    assert campaigns_dispatch(now=NOON) == 1

    refused = row(campaign, 0)
    assert refused.state == RowState.FAILED
    assert refused.reason == "Vox refused the call: context: context must be at most 2000 characters"
    assert row(campaign, 1).state == RowState.IN_FLIGHT
    assert campaigns_dispatch(now=NOON + timedelta(days=1)) == 0  # never sent again


def test_the_budget_spent_stops_the_run_and_gives_the_row_back_untouched(
    dispatch_settings, simulator, caller
):
    # Three requests a minute: background may take two of them, and waits no time for more.
    dispatch_settings.VOX_REQUESTS_PER_MINUTE = 3
    dispatch_settings.VOX_SYNC_BUDGET_WAIT = 0
    reset_client()
    campaign = campaign_ready(simulator, phones=[phone(i) for i in range(5)], user=caller)

    assert campaigns_dispatch(now=NOON) == 2

    assert posts(simulator) == 2 and simulator.stats()["rate_limited"] == 0
    third = row(campaign, 2)
    assert (third.state, third.attempts, third.next_attempt_at) == (RowState.PENDING, 0, None)
    assert states(campaign) == {RowState.IN_FLIGHT: 2, RowState.PENDING: 3}


def test_a_request_during_a_run_makes_that_run_go_round_again(monkeypatch):
    calls = []

    def service():
        calls.append(1)
        if len(calls) == 1:
            assert tasks.campaigns_dispatch() == 0  # arrives during the run: no second run beside it
        return 1

    monkeypatch.setattr(tasks.running, "campaigns_dispatch", service)

    assert tasks.campaigns_dispatch() == 2
    assert len(calls) == 2


def test_a_sender_slower_than_its_lease_leaves_the_row_to_the_run_that_took_it_over(
    dispatch_settings, simulator, caller
):
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller)
    lease = running.dial_lease()
    [slow] = running._claim(campaign_id=campaign.pk, now=NOON)  # ... then stalls past its lease
    assert campaigns_dispatch(now=NOON + lease) == 1  # another run sends it, same key

    # The stalled sender wakes up: its lease is gone, so it sends nothing.
    verdict, sent = running._attempt(campaign_id=campaign.pk, claim=slow, clock=lambda: NOON + lease * 1.1)

    assert (verdict, sent) == ("next", 0)
    assert posts(simulator) == 1 and row(campaign, 0).state == RowState.IN_FLIGHT
