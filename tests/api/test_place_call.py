"""POST /api/v1/placed-calls: a call placed exactly once per Idempotency-Key, through the same guard
as the page, audited under the token, spent behind the pages in the request budget."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from voxdash.audit.models import AuditEntry
from voxdash.directory import selectors as directory
from voxdash.directory.do_not_call import dnc_add
from voxdash.placements.models import PlacedCall
from voxdash.vox import reset_client

from .placing import call_body, place
from .test_auth import assert_error

pytestmark = pytest.mark.django_db


def test_a_call_is_placed_once_and_its_repeat_replays_the_first_answer(api, simulator):
    body = call_body(simulator)
    first = place(api, body)
    assert first.status_code == 201, first.content
    placed = first.json()
    assert placed["outcome"] == "queued" and placed["vox_call_id"]
    assert placed["placed_by"] == f"api:{api.token.name}"
    assert "Idempotency-Replayed" not in first
    again = place(api, body)
    assert again.status_code == 201
    assert again["Idempotency-Replayed"] == "true"
    assert again.content == first.content  # the first answer, byte for byte
    assert simulator.stats()["dialed"] == 1
    assert PlacedCall.objects.count() == 1  # answered from the key: not even a new attempt


def test_the_same_key_with_another_body_is_409_and_dials_nothing(api, simulator):
    assert place(api, call_body(simulator)).status_code == 201
    body = assert_error(
        place(api, call_body(simulator, context="Something else")), 409, "idempotency_key_reused"
    )
    assert "different request" in body["message"]
    assert simulator.stats()["dialed"] == 1


def test_the_key_is_required(api, simulator):
    body = assert_error(place(api, call_body(simulator), key=None), 400, "idempotency_key_required")
    assert "Idempotency-Key" in body["message"]
    assert_error(place(api, call_body(simulator), key="x" * 256), 400, "idempotency_key_invalid")
    assert simulator.stats()["dialed"] == 0


def test_keys_belong_to_their_token(api_for, vox_settings, simulator):
    crm, billing = api_for(), api_for()
    assert place(crm, call_body(simulator), key="same").status_code == 201
    second = place(billing, call_body(simulator), key="same")
    assert second.status_code == 201 and "Idempotency-Replayed" not in second
    assert second.json()["key"] != place(crm, call_body(simulator), key="same").json()["key"]
    assert simulator.stats()["dialed"] == 2


def test_a_bad_field_is_422_naming_it_and_releases_the_key(api, simulator):
    refused = assert_error(place(api, call_body(simulator, customer_phone="12")), 422, "validation_error")
    assert [d["field"] for d in refused["details"]] == ["customer_phone"]
    assert place(api, call_body(simulator)).status_code == 201  # the corrected call, same key
    assert simulator.stats()["dialed"] == 1


def test_a_do_not_call_number_is_refused_and_nothing_is_sent(api, simulator, admin_user):
    dnc_add(phone="0803 123 4560", reason="asked us to stop", user=admin_user)
    body = assert_error(place(api, call_body(simulator)), 422, "do_not_call")
    assert "do-not-call list (asked us to stop)" in body["message"]
    assert simulator.stats()["dialed"] == 0 and PlacedCall.objects.count() == 0


def test_outside_the_hours_it_asks_for_a_confirmation(api, simulator, settings):
    settings.VOXDASH_BUSINESS_HOURS = (
        f"{['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][(timezone.now().weekday() + 3) % 7]} 00:00-23:59"
    )
    settings.VOXDASH_BUSINESS_TIME_ZONE = "UTC"
    body = assert_error(place(api, call_body(simulator)), 422, "outside_hours")
    assert "confirm_outside_hours" in body["message"]
    assert simulator.stats()["dialed"] == 0
    confirmed = place(api, call_body(simulator, confirm_outside_hours=True), key="key-2")
    assert confirmed.status_code == 201 and simulator.stats()["dialed"] == 1


def test_the_per_user_brake_holds_each_token(api_for, vox_settings, simulator, settings):
    settings.VOX_PLACE_CALLS_PER_MINUTE = 1
    crm, other = api_for(), api_for()
    assert place(crm, call_body(simulator), key="a").status_code == 201
    refused = place(crm, call_body(simulator, customer_phone="+2348031234561"), key="b")
    assert_error(refused, 429, "throttled")
    assert place(other, call_body(simulator, customer_phone="+2348031234562"), key="a").status_code == 201
    assert simulator.stats()["dialed"] == 2


def test_the_placement_is_in_the_audit_log_under_the_token(api, simulator):
    place(api, call_body(simulator))
    place(api, call_body(simulator))  # a replay is not a second placement
    entry = AuditEntry.objects.get(action="call_placed")
    assert (entry.username, entry.via, entry.object_type) == (f"api:{api.token.name}", "api", "placed call")


def test_a_lost_response_then_the_same_key_dials_once(api, simulator, settings):
    settings.VOX_MAX_RETRIES = 0  # else voxdash's own retry finds the placement before answering
    reset_client()
    simulator.faults.lose_response_next()
    lost = place(api, call_body(simulator))
    assert lost.status_code in (502, 504), lost.content
    assert lost.json()["error"] == "outcome_unknown" and "same Idempotency-Key" in lost.json()["message"]
    retried = place(api, call_body(simulator))
    assert retried.status_code == 201 and retried.json()["outcome"] == "queued"
    assert simulator.stats()["dialed"] == 1
    assert place(api, call_body(simulator))["Idempotency-Replayed"] == "true"


def test_after_a_lost_response_another_body_under_the_key_is_409_not_a_vox_error(api, simulator, settings):
    """The unknown outcome released the key here (no fingerprint kept), but Vox holds it: its
    "key reused" is the client's mistake, told as the API's own 409, and nothing more is dialled."""
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    simulator.faults.lose_response_next()
    assert place(api, call_body(simulator)).json()["error"] == "outcome_unknown"
    other = place(api, call_body(simulator, context="Something else"))
    assert_error(other, 409, "idempotency_key_reused")
    assert simulator.stats()["dialed"] == 1


def test_vox_down_is_a_clear_answer_never_a_500(api, simulator, settings):
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    simulator.faults.queue(503, count=5, path="/v1/vox/calls", method="POST")
    failed = place(api, call_body(simulator))
    assert failed.status_code == 502 and failed.json()["error"] == "outcome_unknown"
    assert PlacedCall.objects.get().outcome == "unknown"  # on record: a retry may find it placed


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_dial_once(api, simulator, settings):
    simulator.faults.processing_ms = 300  # the first holds its key at Vox while the others arrive
    settings.VOX_MAX_RETRIES = 6
    reset_client()
    body, start, answers = call_body(simulator), threading.Barrier(4), []

    def send():
        client = Client()
        start.wait()
        try:
            answers.append(
                client.post(
                    "/api/v1/placed-calls",
                    body,
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {api.raw}", "Idempotency-Key": "together"},
                )
            )
        finally:
            connection.close()  # this thread's own: left open it blocks dropping the test database

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.status_code for a in answers)
    assert 201 in statuses and set(statuses) <= {201, 409}, [a.content for a in answers]
    assert all(a.json()["error"] == "idempotency_key_in_progress" for a in answers if a.status_code == 409)
    assert simulator.stats()["dialed"] == 1
    assert len({a.json()["key"] for a in answers if a.status_code == 201}) == 1
    assert place(api, body, key="together")["Idempotency-Replayed"] == "true"


def test_what_it_asks_vox_is_behind_the_pages(api, simulator, settings):
    # 4 a minute, none for the sync or placements' reserve, the pages' last 3 not the API's.
    settings.VOX_REQUESTS_PER_MINUTE, settings.VOX_BACKGROUND_MIN_PER_MINUTE = 4, 0
    settings.VOX_PLACEMENT_RESERVE_PER_MINUTE, settings.VOX_API_PAGE_RESERVE_PER_MINUTE = 0, 3
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    directory.voice_numbers(), directory.agents()  # the pickers, as a page reads them (cached)
    # Now the pages hold 2 of their 4: the API has none of the first 1 left.
    spent = assert_error(place(api, call_body(simulator)), 503, "budget_exhausted")
    assert "nothing was sent" in spent["message"] and spent["message"]
    assert simulator.stats()["dialed"] == 0
    from voxdash.vox import get_client  # (the page's own client: interactive)

    assert get_client().list_calls(limit=1).calls  # a page still gets its request


def test_a_misspelt_field_is_422_naming_it_and_places_nothing(api, simulator):
    body = {**call_body(simulator), "confirm_outside_hour": True}
    refused = assert_error(place(api, body), 422, "validation_error")
    assert refused["details"] == [
        {
            "field": "confirm_outside_hour",
            "message": "Not a field this endpoint takes (a misspelt name?): nothing was done.",
        }
    ]
    assert simulator.stats()["dialed"] == 0
