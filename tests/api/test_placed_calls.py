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


def test_an_unknown_key_is_404(api):
    assert_error(api.get("/placed-calls/6f1c2f0e-1b7e-4d1e-9a55-1d2e3f4a5b6c"), 404, "not_found")


def test_the_placed_calls_page_names_the_token(api, simulator, admin_user):
    assert place(api, call_body(simulator)).status_code == 201
    page = Client()
    page.force_login(admin_user)
    response = page.get("/calls/placed/")
    assert response.status_code == 200
    assert f"api:{api.token.name}" in response.content.decode()
