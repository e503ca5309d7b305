"""/api/v1/do-not-call: list, add and remove through the page's own services, so a number added
here is refused by the guard every dial passes, and every change is in the list's history and the
audit log under the token."""

import pytest

from voxdash.api.scopes import CALLS_READ, DNC
from voxdash.audit.models import AuditEntry
from voxdash.directory.do_not_call import dnc_add
from voxdash.directory.models import DoNotCallChange, DoNotCallEntry
from voxdash.placements.guard import DO_NOT_CALL, placement_guard

from .test_auth import assert_error

pytestmark = pytest.mark.django_db

PHONE = "+2348012345678"


@pytest.fixture
def dnc_api(api_for, settings):
    settings.VOX_DEFAULT_REGION = "NG"
    return api_for(scopes=[DNC], name="CRM")


def test_adding_a_national_number_lists_it_in_e164_and_the_guard_refuses_it(dnc_api):
    response = dnc_api.post("/do-not-call", json={"phone": "0801 234 5678", "reason": "asked, 1 Dec"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == PHONE and body["created"] is True
    assert body["reason"] == "asked, 1 Dec" and body["added_by"] == "api:CRM"

    refusal = placement_guard(customer_phone=PHONE, window=None)
    assert refusal is not None and refusal.code == DO_NOT_CALL
    assert "asked, 1 Dec" in refusal.message


def test_adding_a_listed_number_again_changes_nothing(dnc_api, admin_user):
    dnc_add(phone=PHONE, reason="first", user=admin_user)
    response = dnc_api.post("/do-not-call", json={"phone": "+234 801 234 5678", "reason": "second"})
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert response.json()["reason"] == "first" and response.json()["added_by"] == "ada"
    assert DoNotCallEntry.objects.count() == 1
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DNC_ADDED, username="api:CRM").exists()


@pytest.mark.parametrize(
    "body, field",
    [({"phone": "not a number"}, "phone"), ({"phone": "123"}, "phone"), ({}, "phone"),
     ({"phone": PHONE, "reason": "x" * 201}, "reason")],
)  # fmt: skip
def test_a_bad_number_or_reason_is_422_naming_the_field(dnc_api, body, field):
    refused = assert_error(dnc_api.post("/do-not-call", json=body), 422, "validation_error")
    assert [d["field"] for d in refused["details"]] == [field]
    assert DoNotCallEntry.objects.count() == 0


def test_the_list_is_searchable_and_paged_newest_first(dnc_api, admin_user):
    for n in range(5):
        dnc_add(phone=f"+23480123456{n}0", reason=f"reason {n}", user=admin_user)
    first = dnc_api.get("/do-not-call", {"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert [e["phone"] for e in body["data"]] == ["+2348012345640", "+2348012345630"]
    assert (body["total"], body["has_more"]) == (5, True)
    last = dnc_api.get("/do-not-call", {"limit": 2, "page": 3}).json()
    assert [e["phone"] for e in last["data"]] == ["+2348012345600"] and not last["has_more"]

    # a national form's digits find the E.164 entry, as on the page
    found = dnc_api.get("/do-not-call", {"q": "0801 234 5620"}).json()
    assert [e["phone"] for e in found["data"]] == ["+2348012345620"]
    assert dnc_api.get("/do-not-call", {"q": "reason 3"}).json()["total"] == 1


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page": 10**7}, {"limit": 0}, {"limit": 101}, {"q": "x" * 101}, {"q": "a\x00"}]
)
def test_bad_list_parameters_are_422(dnc_api, params):
    assert_error(dnc_api.get("/do-not-call", params), 422, "validation_error")


def test_removing_a_number_takes_it_off_and_the_guard_lets_it_through(dnc_api, admin_user):
    dnc_add(phone=PHONE, reason="asked", user=admin_user)
    response = dnc_api.delete("/do-not-call/%2B2348012345678")
    assert response.status_code == 200, response.content
    assert response.json()["phone"] == PHONE
    assert not DoNotCallEntry.objects.exists()
    assert placement_guard(customer_phone=PHONE, window=None) is None
    change = DoNotCallChange.objects.get(action=DoNotCallChange.Action.REMOVED)
    assert change.username == "api:CRM"


def test_removing_a_number_not_listed_is_404(dnc_api):
    assert_error(dnc_api.delete("/do-not-call/%2B2348012345678"), 404, "not_listed")
    refused = assert_error(dnc_api.delete("/do-not-call/nonsense"), 422, "validation_error")
    assert refused["details"][0]["field"] == "phone"


def test_changes_are_in_the_audit_log_under_the_token(dnc_api):
    dnc_api.post("/do-not-call", json={"phone": PHONE, "reason": "asked"})
    dnc_api.delete(f"/do-not-call/{PHONE}")  # an unencoded + is kept as it is in a path
    entries = AuditEntry.objects.filter(object_id=PHONE).order_by("id")
    assert [(e.action, e.username, e.via) for e in entries] == [
        (AuditEntry.Action.DNC_ADDED, "api:CRM", AuditEntry.Via.API),
        (AuditEntry.Action.DNC_REMOVED, "api:CRM", AuditEntry.Via.API),
    ]


def test_a_token_without_the_dnc_scope_is_403(api_for):
    reader = api_for(scopes=[CALLS_READ])
    assert_error(reader.get("/do-not-call"), 403, "missing_scope")
    assert_error(reader.post("/do-not-call", json={"phone": PHONE}), 403, "missing_scope")
    assert_error(reader.delete(f"/do-not-call/{PHONE}"), 403, "missing_scope")
    assert not DoNotCallEntry.objects.exists()


def test_text_that_is_not_unicode_is_400_not_a_500(dnc_api):
    # A lone surrogate is valid JSON, but no database stores it.
    response = dnc_api.client.post(
        "/api/v1/do-not-call",
        b'{"phone": "+2348012345678", "reason": "\\ud800"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {dnc_api.raw}"},
    )
    assert_error(response, 400, "bad_request")
    assert not DoNotCallEntry.objects.exists()
