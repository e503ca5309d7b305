"""Placing a call at /calls/new/: the form, the review step, exactly-once, errors that keep input."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from vox_simulator import keys
from voxdash.placements.models import PlacedCall
from voxdash.vox import reset_client

from .submit import URL, form_defaults, place, place_at_once


def test_viewer_gets_403_on_get_and_post(client, viewer, vox_settings):
    client.force_login(viewer)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "place"}).status_code == 403


def test_viewer_has_no_menu_entry_but_caller_does(client, viewer, caller, vox_settings):
    client.force_login(viewer)
    assert b'href="/calls/new/"' not in client.get(reverse("overview")).content
    client.force_login(caller)
    assert b'href="/calls/new/"' in client.get(reverse("overview")).content


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_form_offers_only_usable_numbers_and_active_agents(caller_client, simulator):
    form = caller_client.get(URL).context["form"]
    numbers = {n["id"]: n for n in simulator.store.list_numbers()}
    agents = {a["id"]: a for a in simulator.store.list_agents()}
    offered_numbers = [value for value, _ in form.fields["business_voice_number_id"].choices]
    offered_agents = [value for value, _ in form.fields["ai_agent_id"].choices]
    assert offered_numbers and all(
        numbers[n]["status"] == "active" and numbers[n]["voiceCapable"] for n in offered_numbers
    )
    assert len(offered_numbers) < len(numbers)  # the inactive and SMS-only ones are left out
    assert offered_agents and all(agents[a]["status"] == "active" for a in offered_agents)
    default = next(a for a in agents.values() if a["isDefault"])
    assert form.initial["ai_agent_id"] == default["id"]
    assert form.initial["idempotency_key"]


def test_review_shows_exactly_what_will_be_sent(caller_client, simulator):
    data = form_defaults(caller_client)
    data["customer_phone"] = "0803 123 4560"  # national format, default region NG
    response = caller_client.post(URL, {**data, "action": "review"})
    assert response.status_code == 200
    assert response.context["payload"]["customer_phone"] == "+2348031234560"
    body = response.content.decode()
    assert "+234 803 123 4560" in body and 'value="place"' in body
    assert simulator.stats()["dialed"] == 0  # reviewing places nothing


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("customer_phone", "12345", "not a valid phone number"),
        ("customer_phone", "call me", "Enter a phone number"),
        ("context", "", "This field is required"),
        ("context", "x" * 2001, "at most 2000"),
        ("purpose", "p" * 65, "at most 64"),
        ("business_voice_number_id", "not-a-number-id", "Select a valid choice"),
    ],
)
def test_bad_input_gets_a_message_and_keeps_everything(caller_client, simulator, field, value, message):
    data = form_defaults(caller_client)
    data[field] = value
    response = caller_client.post(URL, {**data, "action": "place"})
    assert response.status_code == 200
    assert message in response.content.decode()
    form = response.context["form"]
    assert form["customer_name"].value() == "Adaeze Okonkwo" and form["purpose"].value()
    assert simulator.stats()["dialed"] == 0 and not PlacedCall.objects.exists()


def test_placing_dials_once_and_lands_on_the_placed_call(caller_client, simulator, caller):
    data = form_defaults(caller_client)
    response = place(caller_client, data)
    detail = reverse("placements:detail", kwargs={"key": data["idempotency_key"]})
    assert response.status_code == 302 and response["Location"] == detail
    assert simulator.stats()["dialed"] == 1
    record = PlacedCall.objects.get()
    assert record.outcome == "queued" and record.user == caller and record.vox_placement_id
    assert record.payload["customer_phone"] == "+2348031234560"
    page = caller_client.get(detail)
    assert page.status_code == 200 and b"Queued" in page.content


def test_the_placed_call_says_which_number_and_agent_it_was_sent_with(caller_client, simulator):
    from voxdash.directory.sync import directory_sync

    data = form_defaults(caller_client)
    place(caller_client, data)
    body = caller_client.get(
        reverse("placements:detail", kwargs={"key": data["idempotency_key"]})
    ).content.decode()
    # Before the directory is mirrored, the ids that were sent; after, their names.
    assert data["business_voice_number_id"] in body and data["ai_agent_id"] in body
    directory_sync()
    body = caller_client.get(
        reverse("placements:detail", kwargs={"key": data["idempotency_key"]})
    ).content.decode()
    agent = next(a for a in simulator.store.list_agents() if a["id"] == data["ai_agent_id"])
    assert "Call from" in body and agent["name"] in body and data["ai_agent_id"] not in body


def test_resubmitting_the_same_form_is_shown_as_already_placed(caller_client, simulator):
    data = form_defaults(caller_client)
    first = place(caller_client, data)
    second = place(caller_client, data)  # double click, or the browser resubmitting
    assert second["Location"] == first["Location"]
    assert simulator.stats()["dialed"] == 1
    assert [r.outcome for r in PlacedCall.objects.order_by("id")] == ["queued", "replayed"]
    page = caller_client.get(second["Location"])
    assert b"already placed" in page.content


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_with_one_key_dial_once(caller, simulator, vox_settings, settings):
    simulator.faults.processing_ms = 300  # the first holds the key while the second arrives
    # Enough jittered retries that the second always outlasts the first's 300 ms.
    settings.VOX_MAX_RETRIES = 6
    reset_client()
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(caller)
    data = form_defaults(clients[0])
    responses = place_at_once(clients, data, barrier=False)
    assert [r.status_code for r in responses] == [302, 302]
    assert simulator.stats()["dialed"] == 1
    assert sorted(r.outcome for r in PlacedCall.objects.all()) == ["queued", "replayed"]


def test_lost_response_then_retry_dials_once(caller_client, simulator, settings):
    settings.VOX_MAX_RETRIES = 0  # the client must not hide the loss: the person retries
    reset_client()
    data = form_defaults(caller_client)
    simulator.faults.lose_response_next()
    response = place(caller_client, data)
    assert response.status_code == 200
    assert "could not confirm whether Vox queued" in response.content.decode()
    assert response.context["form"]["context"].value() == data["context"]
    assert PlacedCall.objects.get().outcome == "unknown"
    # The re-rendered form still carries the same key, so pressing again cannot dial twice.
    assert response.context["form"]["idempotency_key"].value() == data["idempotency_key"]
    retry = place(caller_client, data)
    assert retry.status_code == 302
    assert simulator.stats()["dialed"] == 1
    # The retry that learns of the call is its placement, although Vox answers it as a replay.
    assert [r.outcome for r in PlacedCall.objects.order_by("id")] == ["unknown", "queued"]


def test_lost_response_is_recovered_by_the_clients_own_retry(caller_client, simulator):
    data = form_defaults(caller_client)
    simulator.faults.lose_response_next()
    response = place(caller_client, data)
    assert response.status_code == 302
    assert simulator.stats()["dialed"] == 1


def test_changed_form_after_failure_gets_a_fresh_key(caller_client, simulator, settings):
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    data = form_defaults(caller_client)
    simulator.faults.queue(503, count=1)
    place(caller_client, data)
    changed = {**data, "context": data["context"] + " Offer a payment link."}
    assert place(caller_client, changed).status_code == 302
    first, second = PlacedCall.objects.order_by("id")
    assert first.outcome == "unknown" and second.outcome == "queued"
    assert str(first.idempotency_key) == data["idempotency_key"]
    assert second.idempotency_key != first.idempotency_key
    assert simulator.stats()["dialed"] == 1


def test_api_validation_errors_land_on_their_fields(caller_client, simulator):
    data = form_defaults(caller_client)
    simulator.faults.queue(
        422,
        count=1,
        method="POST",
        body=json.dumps(
            {
                "error": "validation_error",
                "message": "Validation failed",
                "details": [{"field": "customer_phone", "message": "Number is on the do-not-call list"}],
            }
        ),
    )
    response = place(caller_client, data)
    assert response.status_code == 200
    assert response.context["form"].errors["customer_phone"] == ["Number is on the do-not-call list"]
    assert response.context["form"]["context"].value() == data["context"]
    assert PlacedCall.objects.get().outcome == "rejected"


@pytest.mark.parametrize(
    "setup, text",
    [
        (lambda sim, settings: setattr(settings, "VOX_API_KEY", keys.READ_ONLY_KEY), "vox:calls:create"),
        (lambda sim, settings: sim.faults.queue(429, count=10, retry_after=60, method="POST"), "rate limit"),
        (lambda sim, settings: sim.faults.queue(503, count=10, method="POST"), "trouble"),
        (
            lambda sim, settings: sim.faults.queue(
                409,
                count=1,
                method="POST",
                body=json.dumps({"error": "idempotency_key_reused", "message": "Key reused"}),
            ),
            "already submitted with different values",
        ),
    ],
)
def test_upstream_errors_are_clear_and_keep_the_input(caller_client, simulator, settings, setup, text):
    data = form_defaults(caller_client)
    setup(simulator, settings)
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    response = place(caller_client, data)
    assert response.status_code == 200
    assert text in response.content.decode()
    form = response.context["form"]
    assert form["customer_phone"].value() == data["customer_phone"]
    assert form["context"].value() == data["context"]
    assert PlacedCall.objects.count() == 1 and simulator.stats()["dialed"] == 0


def test_key_reused_gives_the_form_a_new_key(caller_client, simulator, settings):
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    data = form_defaults(caller_client)
    simulator.faults.queue(
        409,
        count=1,
        method="POST",
        body=json.dumps({"error": "idempotency_key_reused", "message": "Key reused"}),
    )
    response = place(caller_client, data)
    assert response.context["form"]["idempotency_key"].value() != data["idempotency_key"]


def test_csrf_is_enforced(caller, simulator, vox_settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(caller)
    data = form_defaults(client)
    assert place(client, data).status_code == 403
    assert simulator.stats()["dialed"] == 0


def test_per_user_limit_stops_a_runaway(caller_client, simulator, settings):
    settings.VOX_PLACE_CALLS_PER_MINUTE = 2
    for _ in range(2):
        assert place(caller_client, form_defaults(caller_client)).status_code == 302
    response = place(caller_client, form_defaults(caller_client))
    assert response.status_code == 200
    assert "at most 2 calls a minute" in response.content.decode()
    assert simulator.stats()["dialed"] == 2
    assert PlacedCall.objects.filter(outcome="throttled").count() == 1


def test_placed_calls_list_shows_who_placed_what(caller_client, client, viewer, simulator):
    place(caller_client, form_defaults(caller_client))
    client.force_login(viewer)
    body = client.get(reverse("placements:list")).content.decode()
    assert "cal" in body and "payment_reminder" in body and "Queued" in body


def test_status_follows_the_call_in_the_listing(caller_client, simulator, settings):
    settings.VOX_LIST_CACHE_SECONDS = 0
    data = form_defaults(caller_client)
    detail = place(caller_client, data)["Location"]
    assert caller_client.get(detail).context["progress"].status == "queued"
    for _ in range(6):
        simulator.advance()
    progress = caller_client.get(detail, headers={"HX-Request": "true"}).context["progress"]
    assert progress.status == "completed" and progress.is_final
    record = PlacedCall.objects.get()
    assert record.listed_call_id == progress.listed_call_id


def test_placed_call_links_to_its_listed_call_when_ids_differ(caller, vox_settings, settings, client):
    from vox_simulator import Simulator

    settings.VOX_LIST_CACHE_SECONDS = 0
    with Simulator(port=0, seed=2, calls=20, post_id_matches_list=False, lifecycle_step_seconds=None) as sim:
        settings.VOX_API_BASE_URL = sim.base_url
        reset_client()
        client.force_login(caller)
        data = form_defaults(client)
        detail = place(client, data)["Location"]
        record = PlacedCall.objects.get()
        progress = client.get(detail).context["progress"]
        assert progress.listed_call_id and progress.listed_call_id != record.vox_placement_id
        listed = [c for c in sim.store.all_calls() if c.id == progress.listed_call_id]
        assert listed and listed[0].customer_phone == record.customer_phone


def test_admin_shows_placed_calls_read_only(admin_client, caller_client, simulator):
    place(caller_client, form_defaults(caller_client))
    record = PlacedCall.objects.get()
    changelist = admin_client.get(reverse("admin:placements_placedcall_changelist"))
    assert changelist.status_code == 200 and record.customer_phone.encode() in changelist.content
    change = admin_client.get(reverse("admin:placements_placedcall_change", args=[record.pk]))
    assert change.status_code == 200 and b'name="_save"' not in change.content
    assert admin_client.get(reverse("admin:placements_placedcall_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:placements_placedcall_delete", args=[record.pk])).status_code == 403
    )


def test_a_throttled_call_stays_throttled_when_resubmitted(caller_client, simulator, settings):
    settings.VOX_PLACE_CALLS_PER_MINUTE = 1
    assert place(caller_client, form_defaults(caller_client)).status_code == 302
    refused = form_defaults(caller_client)
    assert place(caller_client, refused).status_code == 200
    again = place(caller_client, refused)  # the same form, pressed again
    assert again.status_code == 200 and "at most 1 calls a minute" in again.content.decode()
    assert simulator.stats()["dialed"] == 1


def test_a_rate_limit_after_a_lost_response_is_an_unknown_outcome(caller_client, caller, simulator, settings):
    """The first attempt is queued but its response lost; the client's retry then finds the shared
    request budget spent. Vox dialled: the record must not say "rejected"."""
    import uuid

    from django.core.cache import cache

    from voxdash.placements.services import call_place

    data = form_defaults(caller_client)
    payload = {k: v for k, v in data.items() if k != "idempotency_key"}
    settings.VOX_REQUESTS_PER_MINUTE = 1
    settings.VOX_BACKGROUND_MIN_PER_MINUTE = 0  # that one request is the pages' own
    reset_client()
    cache.clear()
    simulator.faults.lose_response_next()
    attempt = call_place(user=caller, payload=payload, idempotency_key=uuid.UUID(data["idempotency_key"]))
    assert type(attempt.error).__name__ == "VoxBudgetExhausted"
    assert simulator.stats()["dialed"] == 1
    assert attempt.record.outcome == "unknown"
    settings.VOX_REQUESTS_PER_MINUTE = 120
    reset_client()
    cache.clear()
    retry = place(caller_client, data)  # pressed again, unchanged: the same key
    assert retry.status_code == 302 and simulator.stats()["dialed"] == 1


@pytest.mark.django_db(transaction=True)  # the link is made after the sync's page commits
def test_the_mirror_links_placed_calls_without_anyone_opening_them(caller_client, simulator):
    from voxdash.calls.sync import calls_sync

    place(caller_client, form_defaults(caller_client))
    record = PlacedCall.objects.get()
    assert record.listed_call_id == ""
    calls_sync(full=True)  # the new call arrives in the mirror
    record.refresh_from_db()
    assert record.listed_call_id == record.vox_placement_id  # this simulator lists it under the same id
