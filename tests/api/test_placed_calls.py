"""GET /api/v1/placed-calls and /placed-calls/{key}: a client follows the call it placed."""

import pytest
from django.test import Client

from voxdash.calls.sync import calls_sync

from .placing import call_body, place
from .test_auth import assert_error

pytestmark = pytest.mark.django_db


def test_a_placed_call_is_followed_until_it_is_final(api, simulator):
    key = place(api, call_body(simulator)).json()["key"]
    status = api.get(f"/placed-calls/{key}").json()
    assert status["key"] == key and status["final"] is False
    for _ in range(5):
        simulator.advance()
    calls_sync()
    status = api.get(f"/placed-calls/{key}").json()
    assert status["final"] is True and status["status"] == "completed"
    assert status["call_id"]  # the call in GET /calls
    assert api.get(f"/calls/{status['call_id']}").status_code == 200


def test_the_list_counts_exactly_below_the_cap_on_every_page(api, simulator):
    for n in range(5):
        place(api, call_body(simulator, context=f"Order {n}"), key=f"k{n}")
    first = api.get("/placed-calls", {"limit": 2}).json()
    assert (first["total"], first["total_is_lower_bound"], first["has_more"]) == (5, False, True)
    last = api.get("/placed-calls", {"limit": 2, "page": 3}).json()
    assert (len(last["data"]), last["total"], last["has_more"]) == (1, 5, False)
    past = api.get("/placed-calls", {"limit": 2, "page": 9}).json()
    assert (past["data"], past["total"]) == ([], 5)


def test_the_list_filters_by_outcome_and_by_token(api_for, vox_settings, simulator):
    crm, other = api_for(), api_for()
    place(crm, call_body(simulator), key="a")
    place(other, call_body(simulator, customer_phone="+2348031234561"), key="a")
    everyone = crm.get("/placed-calls").json()
    assert len(everyone["data"]) == 2
    mine = crm.get("/placed-calls", {"mine": "true"}).json()
    assert [c["placed_by"] for c in mine["data"]] == [f"api:{crm.token.name}"]
    assert crm.get("/placed-calls", {"outcome": "rejected"}).json()["data"] == []
    assert_error(crm.get("/placed-calls", {"outcome": "nonsense"}), 422, "validation_error")


def test_a_call_is_followed_by_the_idempotency_key_the_client_sent_too(api_for, vox_settings, simulator):
    crm, other = api_for(), api_for()
    placed = place(crm, call_body(simulator), key="crm-order-1042").json()
    by_own_key = crm.get("/placed-calls/crm-order-1042")
    assert by_own_key.status_code == 200 and by_own_key.json()["key"] == placed["key"]
    assert_error(other.get("/placed-calls/crm-order-1042"), 404, "not_found")  # keys are per token


def test_an_unknown_key_is_404_saying_which_keys_it_knows_and_not_to_place_again(api):
    refused = assert_error(api.get("/placed-calls/6f1c2f0e-1b7e-4d1e-9a55-1d2e3f4a5b6c"), 404, "not_found")
    assert "Idempotency-Key this token sent" in refused["message"]
    assert "Do not place the call again with a new key" in refused["message"]


def test_the_placed_calls_page_names_the_token(api, simulator, admin_user):
    assert place(api, call_body(simulator)).status_code == 201
    page = Client()
    page.force_login(admin_user)
    response = page.get("/calls/placed/")
    assert response.status_code == 200
    assert f"api:{api.token.name}" in response.content.decode()
