"""Pressing "Place call" again: a key whose outcome is known is answered from the record, without
Vox; only an unknown outcome goes to Vox again; the first attempt Vox accepted is the placement."""

import json

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from vox_simulator import keys
from voxdash.calls.models import Call
from voxdash.mirror.calls import CallEvent, call_merge_event, call_merge_listing
from voxdash.mirror.placements import placements_link
from voxdash.placements.models import PlacedCall
from voxdash.vox import errors, get_client, reset_client

from .submit import form_defaults, place, place_at_once, posts_to_vox


def outcomes() -> list[str]:
    return [r.outcome for r in PlacedCall.objects.order_by("attempted_at", "id")]


def told(response) -> str:
    """What this placement told the person (the newest message, shown on the next page)."""
    return [m.message for m in get_messages(response.wsgi_request)][-1]


def test_a_repeat_after_success_is_answered_without_vox(caller_client, simulator):
    data = form_defaults(caller_client)
    first = place(caller_client, data)
    assert first.status_code == 302 and posts_to_vox(simulator) == 1
    for _ in range(3):  # double clicks, the browser resubmitting, the back button
        again = place(caller_client, data)
        assert again.status_code == 302 and again["Location"] == first["Location"]
        assert told(again) == "This call was already placed; Vox did not dial it again."
    assert posts_to_vox(simulator) == 1 and simulator.stats()["dialed"] == 1
    assert outcomes() == ["queued", "replayed", "replayed", "replayed"]
    placement, *repeats = PlacedCall.objects.order_by("id")
    assert not placement.answered_locally
    assert all(r.answered_locally and r.vox_placement_id == placement.vox_placement_id for r in repeats)
    page = caller_client.get(first["Location"]).content.decode()
    assert page.count("answered by voxdash, not sent to Vox") == 3


def test_the_repeat_that_finds_a_lost_placement_is_the_placement(caller_client, simulator, settings):
    settings.VOX_MAX_RETRIES = 0  # the client must not hide the loss: the person presses again
    reset_client()
    data = form_defaults(caller_client)
    simulator.faults.lose_response_next()
    assert place(caller_client, data).status_code == 200  # "could not confirm"
    retry = place(caller_client, data)
    assert retry.status_code == 302
    assert posts_to_vox(simulator) == 2 and simulator.stats()["dialed"] == 1
    assert outcomes() == ["unknown", "queued"]
    assert told(retry) == "Call queued. Its status below follows the call until it ends."
    page = caller_client.get(retry["Location"]).content.decode()
    assert "already placed" not in page.lower()


def test_twenty_presses_after_a_lost_response_are_one_placement(caller_client, simulator):
    """The issue's run: the client's own retry recovers the lost response (Vox flags it replayed);
    that attempt is still the placement, and the 19 presses after it never reach Vox."""
    data = form_defaults(caller_client)
    simulator.faults.lose_response_next()
    responses = [place(caller_client, data) for _ in range(20)]
    assert [r.status_code for r in responses] == [302] * 20
    assert simulator.stats()["dialed"] == 1
    assert posts_to_vox(simulator) == 2  # the lost POST and the client's retry, nothing after
    assert outcomes() == ["queued"] + ["replayed"] * 19
    assert told(responses[0]) == "Call queued. Its status below follows the call until it ends."
    assert all("already placed" in told(r) for r in responses[1:])


@pytest.mark.django_db(transaction=True)
def test_simultaneous_repeats_after_a_lost_response_make_one_placement(caller, simulator, vox_settings):
    vox_settings.VOX_MAX_RETRIES = 0
    reset_client()
    clients = [Client() for _ in range(5)]
    for c in clients:
        c.force_login(caller)
    data = form_defaults(clients[0])
    simulator.faults.lose_response_next()
    assert place(clients[0], data).status_code == 200
    vox_settings.VOX_MAX_RETRIES = 6  # a press meeting another's in-flight request waits for it
    reset_client()
    responses = place_at_once(clients, data)
    assert [r.status_code for r in responses] == [302] * len(clients)
    assert simulator.stats()["dialed"] == 1
    assert sorted(outcomes()) == ["queued"] + ["replayed"] * (len(clients) - 1) + ["unknown"]


def test_repeats_are_answered_while_the_budget_is_spent(caller_client, simulator, settings):
    """Once Vox has said yes, a spent shared budget cannot turn a repeat into "outcome unknown"."""
    data = form_defaults(caller_client)
    first = place(caller_client, data)
    settings.VOX_REQUESTS_PER_MINUTE = 1
    settings.VOX_BACKGROUND_MIN_PER_MINUTE = 0  # that one request is the pages' own
    reset_client()
    with pytest.raises(errors.VoxBudgetExhausted):
        for _ in range(5):  # one, unless the budget still counts the form's and the POST's requests
            get_client().list_calls(limit=1)
    posts = posts_to_vox(simulator)
    for _ in range(5):
        again = place(caller_client, data)
        assert again.status_code == 302 and again["Location"] == first["Location"]
    assert posts_to_vox(simulator) == posts == 1
    assert outcomes() == ["queued"] + ["replayed"] * 5


VALIDATION_422 = json.dumps(
    {
        "error": "validation_error",
        "message": "Validation failed",
        "details": [{"field": "customer_phone", "message": "Number is on the do-not-call list"}],
    }
)


def test_a_permanent_refusal_is_repeated_from_the_record(caller_client, simulator):
    data = form_defaults(caller_client)
    simulator.faults.queue(422, count=1, method="POST", body=VALIDATION_422)
    assert place(caller_client, data).status_code == 200
    again = place(caller_client, data)  # unchanged: Vox would refuse it again
    assert again.status_code == 200
    assert again.context["form"].errors["customer_phone"] == ["Number is on the do-not-call list"]
    assert "Vox refused this exact call before" in again.content.decode()
    assert again.context["form"]["context"].value() == data["context"]
    assert posts_to_vox(simulator) == 1
    assert outcomes() == ["rejected", "rejected"]
    assert PlacedCall.objects.order_by("id").last().answered_locally


def test_a_refusal_about_voxdashs_own_key_is_not_the_calls_outcome(caller_client, simulator, settings):
    """Missing scope, bad key: fixed in voxdash's settings, after which the same form must go through."""
    data = form_defaults(caller_client)
    settings.VOX_API_KEY = keys.READ_ONLY_KEY
    reset_client()
    assert place(caller_client, data).status_code == 200
    settings.VOX_API_KEY = keys.DEMO_KEY
    reset_client()
    assert place(caller_client, data).status_code == 302
    assert posts_to_vox(simulator) == 2 and simulator.stats()["dialed"] == 1
    assert outcomes() == ["rejected", "queued"]


def test_the_audit_tells_the_placement_from_its_repeats(caller_client, admin_client, simulator, settings):
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    data = form_defaults(caller_client)
    simulator.faults.lose_response_next()
    place(caller_client, data)
    place(caller_client, data)
    detail = place(caller_client, data)["Location"]
    rows = caller_client.get(detail).context["attempts"]
    assert [r.get_outcome_display() for r in rows] == ["Outcome unknown", "Queued", "Repeat of a placed call"]
    changelist = admin_client.get(reverse("admin:placements_placedcall_changelist")).content.decode()
    assert changelist.count("Repeat of a placed call") >= 1 and "Queued" in changelist


def test_a_repeat_copies_the_call_as_the_mirror_has_it_not_as_the_first_attempt_last_saw_it(
    caller_client, simulator
):
    data = form_defaults(caller_client)
    place(caller_client, data)
    call_merge_listing(get_client().list_calls(limit=100).calls)
    placements_link()
    placed = PlacedCall.objects.get()
    call = Call.objects.get(vox_id=placed.listed_call_id)
    call_merge_event(CallEvent(call_id=call.vox_id, type="vox.call.completed", at=call.created_at))
    # The first attempt's copy is older than the call (a link that raced the webhook's write).
    PlacedCall.objects.update(mirrored_call_status="ringing")

    place(caller_client, data)  # answered from the record: the repeat links to the same call

    repeat = PlacedCall.objects.get(outcome="replayed")
    assert (repeat.mirrored_call_id, repeat.mirrored_call_status) == (call.pk, "completed")
