"""The campaign's state machine: each action once, recorded with who did it; presses that no
longer apply say why; two presses at once start it once."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from voxdash.campaigns import running
from voxdash.campaigns.models import Campaign, CampaignEvent, CampaignRow
from voxdash.campaigns.running import CANCEL, PAUSE, RESUME, START, campaign_act

from .dispatching import campaign_ready, phone, states

State = Campaign.State
RowState = CampaignRow.State
Action = CampaignEvent.Action


def events(campaign) -> list[tuple[str, str]]:
    return list(CampaignEvent.objects.filter(campaign=campaign).values_list("action", "username"))


@pytest.mark.django_db
def test_start_runs_a_draft_once_and_records_who(simulator, caller):
    draft = campaign_ready(simulator, phones=[phone(1)], user=caller, state=State.DRAFT)

    first = campaign_act(campaign_id=draft.pk, action=START, user=caller)
    again = campaign_act(campaign_id=draft.pk, action=START, user=caller)

    draft.refresh_from_db()
    assert (first.done, first.message) == (True, "Campaign started.")
    assert (again.done, again.message) == (False, "It was already started.")
    assert draft.state == State.RUNNING and draft.started_at is not None
    assert events(draft) == [(Action.STARTED, "cal")]


@pytest.mark.django_db(transaction=True)
def test_two_presses_at_once_start_it_once(simulator, caller, monkeypatch):
    draft = campaign_ready(simulator, phones=[phone(1)], user=caller, state=State.DRAFT)
    # Widen the window between reading the state and writing the event, so that without the
    # campaign's lock both presses would read "draft" and both start it.
    slow_username = running._username
    monkeypatch.setattr(running, "_username", lambda user: (time.sleep(0.3), slow_username(user))[1])
    barrier = threading.Barrier(2)
    results = []

    def press():
        barrier.wait()
        try:
            results.append(campaign_act(campaign_id=draft.pk, action=START, user=caller))
        finally:
            connection.close()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert sorted(r.done for r in results) == [False, True]
    assert [r.message for r in results if not r.done] == ["It was already started."]
    assert events(draft) == [(Action.STARTED, "cal")]


@pytest.mark.django_db
def test_pause_then_resume_clears_the_reason_and_keeps_it_with_the_resume(simulator, caller):
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller, pause_reason="")
    assert campaign_act(campaign_id=campaign.pk, action=PAUSE, user=caller).done
    assert (
        campaign_act(campaign_id=campaign.pk, action=PAUSE, user=caller).message == "It was already paused."
    )
    Campaign.objects.filter(pk=campaign.pk).update(pause_reason="Vox refused voxdash's request (HTTP 401)")

    resumed = campaign_act(campaign_id=campaign.pk, action=RESUME, user=caller)

    campaign.refresh_from_db()
    assert resumed.done and campaign.state == State.RUNNING and campaign.pause_reason == ""
    assert (
        campaign_act(campaign_id=campaign.pk, action=RESUME, user=caller).message == "It is already running."
    )
    assert [a for a, _ in events(campaign)] == [Action.STARTED, Action.PAUSED, Action.RESUMED]
    assert CampaignEvent.objects.get(campaign=campaign, action=Action.RESUMED).note.startswith("Vox refused")


@pytest.mark.django_db
def test_cancel_stops_pending_rows_and_leaves_placed_ones_to_run_their_course(simulator, caller):
    campaign = campaign_ready(simulator, phones=[phone(i) for i in range(4)], user=caller)
    CampaignRow.objects.filter(campaign=campaign, number=2).update(state=RowState.IN_FLIGHT, attempts=1)
    CampaignRow.objects.filter(campaign=campaign, number=3).update(state=RowState.DIALING, attempts=1)

    result = campaign_act(campaign_id=campaign.pk, action=CANCEL, user=caller)

    campaign.refresh_from_db()
    assert result.done and campaign.state == State.CANCELLED and campaign.finished_at is not None
    assert states(campaign) == {RowState.CANCELLED: 2, RowState.IN_FLIGHT: 1, RowState.DIALING: 1}
    assert CampaignEvent.objects.get(campaign=campaign, action=Action.CANCELLED).note == "2 rows not dialled"
    again = campaign_act(campaign_id=campaign.pk, action=CANCEL, user=caller)
    assert (again.done, again.message) == (False, "It was already cancelled.")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        (State.FINISHED, START, "It has finished, so it cannot be started."),
        (State.CANCELLED, RESUME, "It was cancelled, so it cannot be resumed."),
        (State.DRAFT, PAUSE, "It has not been started yet, so it cannot be paused."),
        (State.DRAFT, RESUME, "It has not been started yet, so it cannot be resumed."),
        (State.FINISHED, CANCEL, "It has finished, so it cannot be cancelled."),
        (State.PAUSED, START, "It was already started; it is paused now."),
    ],
)
def test_an_action_that_no_longer_applies_says_the_state_and_changes_nothing(
    simulator, caller, state, action, message
):
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller, state=state)
    before = events(campaign)

    result = campaign_act(campaign_id=campaign.pk, action=action, user=caller)

    campaign.refresh_from_db()
    assert (result.done, result.message) == (False, message)
    assert campaign.state == state and events(campaign) == before


@pytest.mark.django_db
def test_a_campaign_that_is_gone_or_an_unknown_action(simulator, caller):
    assert (
        campaign_act(campaign_id=999, action=START, user=caller).message == "This campaign no longer exists."
    )
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller, state=State.DRAFT)
    with pytest.raises(ValueError, match="unknown campaign action"):
        campaign_act(campaign_id=campaign.pk, action="restart", user=caller)
