"""Calls placed, scheduled and cancelled, through the real form against the simulator over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.placements.submit import form_defaults, place
from voxdash.audit.log import Action
from voxdash.directory.do_not_call import dnc_add
from voxdash.placements.models import PlacedCall
from voxdash.placements.scheduled import placements_due_send
from voxdash.vox import reset_client

from .conftest import ADDRESS, entries, rows_of

LABEL = "+234 803 123 4560 (Adaeze Okonkwo)"  # form_defaults' customer


@pytest.fixture
def caller_client(caller, vox_settings) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(caller)
    return client


def test_a_placed_call_is_recorded_once_with_a_link_to_it(caller_client, simulator, auditor):
    data = form_defaults(caller_client)
    assert place(caller_client, data).status_code == 302
    assert place(caller_client, data).status_code == 302  # pressed again: the same call, not dialled again
    assert simulator.stats()["dialed"] == 1
    [entry] = entries(Action.CALL_PLACED)
    detail_url = reverse("placements:detail", kwargs={"key": data["idempotency_key"]})
    assert (entry.username, entry.remote_addr, entry.object_id, entry.object_url) == (
        "cal",
        ADDRESS,
        data["idempotency_key"],
        detail_url,
    )
    assert rows_of(auditor, Action.CALL_PLACED) == [
        ["cal", ADDRESS, "Placed a call", f"{LABEL} placed call", ""]
    ]
    assert f'<a href="{detail_url}">{LABEL}</a>' in auditor.get(reverse("audit:index")).content.decode()


def test_a_call_the_guard_stops_or_vox_refuses_is_not_placed(caller_client, caller, simulator, settings):
    dnc_add(phone="+2348031234561", user=caller)
    listed = {**form_defaults(caller_client), "customer_phone": "+2348031234561"}
    assert place(caller_client, listed).status_code == 200  # refused on the form
    simulator.faults.queue(
        422,
        count=1,
        method="POST",
        body=json.dumps({"error": "validation_error", "message": "No", "details": []}),
    )
    assert place(caller_client, form_defaults(caller_client)).status_code == 200
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    simulator.faults.queue(503, count=1, method="POST")  # the outcome unknown: maybe, so not yet
    assert place(caller_client, form_defaults(caller_client)).status_code == 200
    assert sorted(PlacedCall.objects.values_list("outcome", flat=True)) == ["rejected", "unknown"]
    assert entries(Action.CALL_PLACED) == []


def test_an_unknown_outcome_pressed_again_and_accepted_is_placed_once(caller_client, simulator, settings):
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    data = form_defaults(caller_client)
    simulator.faults.lose_response_next()  # Vox dials, the answer is lost
    assert place(caller_client, data).status_code == 200
    assert place(caller_client, data).status_code == 302  # the same key: Vox replays, dials once
    assert simulator.stats()["dialed"] == 1
    assert len(entries(Action.CALL_PLACED)) == 1


def schedule(client: Client, at) -> dict:
    local = timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")
    data = {**form_defaults(client), "place_at": local}
    assert place(client, data).status_code == 302
    return data


def test_scheduling_and_cancelling_are_recorded_and_the_workers_send_is_not(
    caller_client, simulator, auditor
):
    at = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    data = schedule(caller_client, at)
    place(caller_client, data)  # "Schedule" pressed again: already scheduled, nothing new
    [scheduled] = entries(Action.CALL_SCHEDULED)
    assert scheduled.detail == {"place_at": at.isoformat()} and scheduled.remote_addr == ADDRESS
    shown = f"for {timezone.localtime(at):%-d %b %Y, %H:%M}"
    assert rows_of(auditor, Action.CALL_SCHEDULED) == [
        ["cal", ADDRESS, "Scheduled a call", f"{LABEL} placed call", shown]
    ]

    cancel = reverse("placements:cancel", kwargs={"key": data["idempotency_key"]})
    assert caller_client.post(cancel).status_code == 302
    assert caller_client.post(cancel).status_code == 302  # already cancelled: nothing changed
    [cancelled] = entries(Action.CALL_CANCELLED)
    assert (cancelled.username, cancelled.object_id) == ("cal", data["idempotency_key"])

    # Another, sent by the worker when due: voxdash's action, not a person's placing.
    schedule(caller_client, at + timedelta(minutes=5))
    assert placements_due_send(now=at + timedelta(minutes=6)) == 1
    assert simulator.stats()["dialed"] == 1
    assert entries(Action.CALL_PLACED) == [] and len(entries(Action.CALL_SCHEDULED)) == 2


def test_a_schedule_the_guard_refuses_is_not_recorded(caller_client, caller, simulator):
    dnc_add(phone="+2348031234560", user=caller)
    at = timezone.localtime(timezone.now() + timedelta(hours=2))
    data = {**form_defaults(caller_client), "place_at": at.strftime("%Y-%m-%dT%H:%M")}
    response = place(caller_client, data)
    assert response.status_code == 200 and "do-not-call" in response.content.decode()
    assert entries(Action.CALL_SCHEDULED) == [] and not PlacedCall.objects.exists()
