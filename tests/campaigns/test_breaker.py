"""The circuit breaker: a campaign pauses itself, and says why, when Vox refuses voxdash's key
(401/403) or when more than half of its latest 20 outcomes failed."""

from __future__ import annotations

import pytest

from vox_simulator import keys
from voxdash.campaigns.models import Campaign, CampaignEvent, CampaignRow
from voxdash.campaigns.running import RESUME, campaign_act, campaigns_dispatch
from voxdash.vox import reset_client

from .dispatching import NOON, campaign_ready, dials_per_key, phone, row, states

pytestmark = pytest.mark.django_db
RowState = CampaignRow.State
POSTS = "POST /v1/vox/calls"


def breaker_notes(campaign) -> list[str]:
    return list(
        CampaignEvent.objects.filter(campaign=campaign, action=CampaignEvent.Action.BREAKER).values_list(
            "note", flat=True
        )
    )


def test_a_revoked_key_pauses_the_campaign_with_what_to_fix_and_dials_nothing(
    dispatch_settings, simulator, caller
):
    simulator.add_key(keys.DEMO_KEY, refusal=keys.EXPIRED)  # the key expired overnight
    campaign = campaign_ready(simulator, phones=[phone(i) for i in range(3)], user=caller)

    assert campaigns_dispatch(now=NOON) == 0

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert campaign.pause_reason == (
        "Vox refused voxdash's request (HTTP 401): The Vox API key has expired. Create a new secret key "
        "in the Cloove dashboard and update VOX_API_KEY. Then resume the campaign."
    )
    assert breaker_notes(campaign) == [campaign.pause_reason]
    assert simulator.stats()["requests_by_route"][POSTS] == 1 and simulator.stats()["dialed"] == 0
    first = row(campaign, 0)
    assert (first.state, first.attempts) == (RowState.PENDING, 0)  # not dialled: its attempt undone
    assert campaigns_dispatch(now=NOON) == 0 and simulator.stats()["requests_by_route"][POSTS] == 1

    simulator.add_key(keys.DEMO_KEY)  # fixed in the dashboard
    campaign_act(campaign_id=campaign.pk, action=RESUME, user=caller)
    assert campaigns_dispatch(now=NOON) == 3
    assert dials_per_key(simulator)[str(row(campaign, 0).key(1))] == 1  # the same attempt, the same key


def test_a_key_without_the_scope_to_place_calls_pauses_it_naming_the_scope(
    dispatch_settings, simulator, caller
):
    dispatch_settings.VOX_API_KEY = keys.READ_ONLY_KEY
    reset_client()
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller)

    campaigns_dispatch(now=NOON)

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert (
        "(HTTP 403)" in campaign.pause_reason and "Grant vox:calls:create to the key" in campaign.pause_reason
    )


def test_more_than_half_of_the_latest_20_failed_pauses_it(dispatch_settings, simulator, webhooks, caller):
    # 11 failures among the first 20 outcomes; rows 21 and on must not be dialled.
    outcomes = ["failed"] * 11 + ["completed"] * 9 + ["completed"] * 5
    campaign = campaign_ready(
        simulator, phones=[phone(i, o) for i, o in enumerate(outcomes)], user=caller, max_in_flight=20
    )
    campaigns_dispatch(now=NOON)
    webhooks.finish()

    campaigns_dispatch(now=NOON)

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert campaign.pause_reason.startswith(
        "11 of the latest 20 calls failed (the latest: Vox: carrier_rejected)."
    )
    assert len(breaker_notes(campaign)) == 1
    assert states(campaign)[RowState.PENDING] == 5 and simulator.stats()["dialed"] == 20


def test_half_failed_or_customers_not_answering_does_not(dispatch_settings, simulator, webhooks, caller):
    # 10 failed of 20 is not more than half; busy and no answer are the customer's, not a fault.
    outcomes = ["failed"] * 10 + ["no_answer"] * 5 + ["busy"] * 5
    campaign = campaign_ready(
        simulator, phones=[phone(i, o) for i, o in enumerate(outcomes)], user=caller, max_in_flight=20
    )
    campaigns_dispatch(now=NOON)
    webhooks.finish()
    campaigns_dispatch(now=NOON)

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.FINISHED and breaker_notes(campaign) == []


def test_refusals_count_as_failures(dispatch_settings, simulator, caller):
    # Every call refused (an agent deleted in the dashboard, say): stop after the 11th, not the 2,000th.
    simulator.faults.queue(422, count=100, path="/v1/vox/calls", method="POST")
    campaign = campaign_ready(simulator, phones=[phone(i) for i in range(15)], user=caller, max_in_flight=15)

    campaigns_dispatch(now=NOON)

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert campaign.pause_reason.startswith(
        "11 of the latest 11 calls failed (the latest: Vox refused the call:"
    )
    assert states(campaign) == {RowState.FAILED: 11, RowState.PENDING: 4}
    assert simulator.stats()["requests_by_route"][POSTS] == 11


def test_after_a_resume_only_the_calls_made_since_count(dispatch_settings, simulator, webhooks, caller):
    outcomes = ["failed"] * 11 + ["failed"] + ["completed"] * 3
    campaign = campaign_ready(
        simulator, phones=[phone(i, o) for i, o in enumerate(outcomes)], user=caller, max_in_flight=11
    )
    campaigns_dispatch(now=NOON)
    webhooks.finish()
    campaigns_dispatch(now=NOON)
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.PAUSED

    campaign_act(campaign_id=campaign.pk, action=RESUME, user=caller)  # "the carrier fixed it"
    campaigns_dispatch()  # the resume is now: judge from here on, by the real clock
    webhooks.finish()
    campaigns_dispatch()

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.FINISHED  # one more failure did not trip it again
    assert len(breaker_notes(campaign)) == 1
