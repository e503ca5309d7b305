"""/api/v1/campaigns: a draft from JSON rows judged as an upload's rows are, its reads (settings,
counts, preview, rows), the actions through the page's state machine (each once, a 409 naming
the state otherwise), a real worker dialling each row once after a start through the API, the
audit log under the token, and the scope."""

from __future__ import annotations

import pytest

from tests.campaigns.dispatching import simulator_ids
from tests.fixtures.celery_worker import _database_url, _point_app_at, running_worker
from vox_simulator import keys
from voxdash.api.scopes import CALLS_READ, CAMPAIGNS, DNC
from voxdash.audit.models import AuditEntry
from voxdash.campaigns.models import Campaign, CampaignEvent, CampaignRow
from voxdash.directory.do_not_call import dnc_add
from voxdash.placements.models import PlacedCall
from voxdash.vox import reset_client

from .test_auth import assert_error

RowState = CampaignRow.State
LISTED = "+2348031234561"


@pytest.fixture
def campaigns_api(api_for, vox_settings):
    vox_settings.VOX_DEFAULT_REGION = "NG"
    return api_for(scopes=[CAMPAIGNS], name="CRM")


def settings_for(simulator, **overrides) -> dict:
    number_id, agent_id = simulator_ids(simulator)
    return {
        "name": "December reminders",
        "business_voice_number_id": number_id,
        "ai_agent_id": agent_id,
        "purpose": "payment_reminder",
        "context": "Remind {customer_name} about invoice {invoice}",
        # all day, every day: a start dials at once, whenever the test runs
        "window_start": "00:00",
        "window_end": "00:00",
        "window_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "time_zone": "Africa/Lagos",
        **overrides,
    }


# Rows with one of each problem the preview names; the number of a row is its place in the list.
ROWS = [
    {"customer_phone": "0801 234 5678", "customer_name": "Adaeze Okonkwo", "invoice": "INV-1"},
    {"customer_phone": "+234 801 234 5678", "customer_name": "Adaeze again", "invoice": "INV-2"},
    {"customer_phone": LISTED, "customer_name": "Listed", "invoice": "INV-3"},
    {"customer_phone": "not a phone", "customer_name": "Wrong", "invoice": "INV-4"},
    {"customer_phone": "08051234562", "customer_name": "Zoë Müller", "invoice": ""},
    {"customer_phone": 8051234563, "customer_name": "Emeka Eze", "invoice": 42},
]
EXPECTED = [
    (1, "+2348012345678", RowState.PENDING, ""),
    (2, "+2348012345678", RowState.DUPLICATE, "same number as row 1"),
    (3, LISTED, RowState.DO_NOT_CALL, "on the do-not-call list"),
    (4, "not a phone", RowState.INVALID, "not a valid phone number: 'not a phone'"),
    (5, "+2348051234562", RowState.INVALID, "no value for invoice"),
    (6, "+2348051234563", RowState.PENDING, ""),
]


def created(api, simulator, rows=ROWS, **overrides):
    response = api.post("/campaigns", json={**settings_for(simulator, **overrides), "rows": rows})
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.django_db
def test_json_rows_make_a_draft_judged_as_an_upload_is(campaigns_api, simulator, admin_user):
    dnc_add(phone=LISTED, reason="asked", user=admin_user)
    body = created(campaigns_api, simulator)

    campaign = Campaign.objects.get(pk=body["id"])
    assert campaign.state == Campaign.State.DRAFT and campaign.created_by_name == "api:CRM"
    rows = campaign.rows.order_by("number").values_list("number", "customer_phone", "state", "reason")
    assert list(rows) == EXPECTED
    assert campaign.rows.get(number=6).context == "Remind Emeka Eze about invoice 42"
    assert not campaign.rows.exclude(state__in=[RowState.PENDING, *[e[2] for e in EXPECTED]]).exists()

    # the answer is what the draft's page shows: its preview, with each skipped row and why
    preview = body["preview"]
    assert (preview["rows_read"], preview["valid"], preview["invalid"]) == (6, 2, 2)
    assert (preview["duplicates"], preview["do_not_call"], preview["missing_values"]) == (1, 1, 1)
    assert [(p["row"], p["state"], p["reason"]) for p in preview["problems"]] == [
        (n, state, reason) for n, _, state, reason in EXPECTED if state != RowState.PENDING
    ]
    assert preview["examples"][0] == "Remind Adaeze Okonkwo about invoice INV-1"
    assert body["state"] == "draft" and body["rows"] == 6 and body["done"] == 4
    assert body["counts"]["pending"] == 2 and body["counts"]["completed"] == 0
    assert body["columns"] == ["customer_phone", "customer_name", "invoice"]
    assert body["window"]["days"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert body["eta"] == "Not started." and body["dial_rate_per_minute"] is None


@pytest.mark.django_db
def test_the_settings_are_judged_by_the_pages_form(campaigns_api, simulator):
    response = campaigns_api.post(
        "/campaigns",
        json={
            **settings_for(simulator, business_voice_number_id="no-such-number", max_in_flight=0),
            "window_days": ["someday"],
            "time_zone": "Mars/Olympus",
            "rows": ROWS[:1],
        },
    )
    refused = assert_error(response, 422, "validation_error")
    fields = {d["field"] for d in refused["details"]}
    assert fields == {"business_voice_number_id", "max_in_flight", "window_days", "time_zone"}
    assert not Campaign.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rows, context, words",
    [
        ([{"number": "0801 234 5678"}], "Hello", "no phone column"),
        ([{"phone": "0801 234 5678"}], "Remind {customer_name}", "{customer_name}, which is not a column"),
        ([], "Hello", "no rows"),
        ([{"phone": ""}, {"phone": None}], "Hello", "no rows below it"),
    ],
)
def test_a_list_that_cannot_be_used_makes_nothing(campaigns_api, simulator, rows, context, words):
    response = campaigns_api.post(
        "/campaigns", json={**settings_for(simulator, context=context), "rows": rows}
    )
    refused = assert_error(response, 422, "invalid_list")
    assert words in refused["message"] and refused["details"][0]["field"] == "rows"
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_a_missing_or_mistyped_field_is_422(campaigns_api, simulator):
    body = settings_for(simulator)
    del body["name"]
    refused = assert_error(
        campaigns_api.post("/campaigns", json={**body, "rows": [{"phone": ["a"]}]}), 422, "validation_error"
    )
    assert {d["field"].split(".")[0] for d in refused["details"]} == {"name", "rows"}


@pytest.mark.django_db
def test_the_list_is_newest_first_and_filtered_by_state(campaigns_api, simulator):
    first = created(campaigns_api, simulator, rows=ROWS[:1], name="first")
    second = created(campaigns_api, simulator, rows=ROWS[:1], name="second")
    Campaign.objects.filter(pk=first["id"]).update(state=Campaign.State.FINISHED)

    listed = campaigns_api.get("/campaigns").json()
    assert [c["name"] for c in listed["data"]] == ["second", "first"]
    assert listed["total"] == 2 and listed["data"][0]["rows"] == 1
    drafts = campaigns_api.get("/campaigns", {"state": "draft"}).json()
    assert [c["id"] for c in drafts["data"]] == [second["id"]]
    page_two = campaigns_api.get("/campaigns", {"limit": 1, "page": 2}).json()
    assert [c["name"] for c in page_two["data"]] == ["first"] and not page_two["has_more"]
    assert_error(campaigns_api.get("/campaigns", {"state": "sleeping"}), 422, "validation_error")
    assert_error(campaigns_api.get("/campaigns/999999"), 404, "not_found")


@pytest.mark.django_db
def test_rows_are_paged_in_order_and_filtered_by_the_pages_states(campaigns_api, simulator, admin_user):
    dnc_add(phone=LISTED, reason="asked", user=admin_user)
    campaign_id = created(campaigns_api, simulator)["id"]

    every = campaigns_api.get(f"/campaigns/{campaign_id}/rows", {"limit": 4}).json()
    assert [r["number"] for r in every["data"]] == [1, 2, 3, 4]
    assert every["total"] == 6 and every["has_more"]
    assert every["data"][0] == {
        **every["data"][0],
        "customer_phone": "+2348012345678",
        "customer_name": "Adaeze Okonkwo",
        "state": "pending",
        "attempts": 0,
        "attempt_key": None,
        "call_id": None,
    }
    invalid = campaigns_api.get(f"/campaigns/{campaign_id}/rows", {"state": "invalid"}).json()
    assert [r["number"] for r in invalid["data"]] == [4, 5] and invalid["total"] == 2

    # the page's "in flight" covers rows being dialled too
    CampaignRow.objects.filter(campaign_id=campaign_id, number=1).update(state=RowState.DIALING)
    CampaignRow.objects.filter(campaign_id=campaign_id, number=6).update(state=RowState.IN_FLIGHT)
    in_flight = campaigns_api.get(f"/campaigns/{campaign_id}/rows", {"state": "in_flight"}).json()
    assert [r["number"] for r in in_flight["data"]] == [1, 6] and in_flight["total"] == 2

    assert_error(campaigns_api.get(f"/campaigns/{campaign_id}/rows", {"state": "x"}), 422, "validation_error")
    assert_error(campaigns_api.get("/campaigns/999999/rows"), 404, "not_found")


@pytest.mark.django_db
def test_each_action_happens_once_and_a_wrong_one_is_409_naming_the_state(
    campaigns_api, simulator, monkeypatch
):
    # No worker here: the dispatch a start asks for is only counted.
    asked = []
    monkeypatch.setattr("voxdash.campaigns.actions.campaigns_dispatch_request", lambda: asked.append(1))
    campaign_id = created(campaigns_api, simulator, rows=ROWS[:1])["id"]
    path = f"/campaigns/{campaign_id}"

    refused = assert_error(campaigns_api.post(f"{path}/pause"), 409, "invalid_state")
    assert refused["message"] == "It has not been started yet, so it cannot be paused."
    assert refused["details"] == [{"field": "state", "message": "draft"}]

    started = campaigns_api.post(f"{path}/start")
    assert started.status_code == 200, started.content
    assert (
        started.json()["campaign"]["state"] == "running" and started.json()["message"] == "Campaign started."
    )
    assert started.json()["campaign"]["preview"] is None
    again = assert_error(campaigns_api.post(f"{path}/start"), 409, "invalid_state")
    assert again["message"] == "It was already started." and again["details"][0]["message"] == "running"
    assert asked == [1]

    assert campaigns_api.post(f"{path}/pause").json()["campaign"]["state"] == "paused"
    assert_error(campaigns_api.post(f"{path}/pause"), 409, "invalid_state")
    assert campaigns_api.post(f"{path}/resume").json()["campaign"]["state"] == "running"
    assert asked == [1, 1]
    cancelled = campaigns_api.post(f"{path}/cancel").json()["campaign"]
    assert cancelled["state"] == "cancelled" and cancelled["counts"]["cancelled"] == 1
    refused = assert_error(campaigns_api.post(f"{path}/resume"), 409, "invalid_state")
    assert refused["message"] == "It was cancelled, so it cannot be resumed."

    events = CampaignEvent.objects.filter(campaign_id=campaign_id).values_list("action", "username")
    assert list(events) == [
        ("created", "api:CRM"), ("started", "api:CRM"), ("paused", "api:CRM"),
        ("resumed", "api:CRM"), ("cancelled", "api:CRM"),
    ]  # fmt: skip
    assert_error(campaigns_api.post("/campaigns/999999/start"), 404, "not_found")


@pytest.mark.django_db
def test_every_change_is_in_the_audit_log_under_the_token(campaigns_api, simulator, monkeypatch):
    monkeypatch.setattr("voxdash.campaigns.actions.campaigns_dispatch_request", lambda: None)
    campaign_id = created(campaigns_api, simulator, rows=ROWS[:2])["id"]
    for action in ("start", "pause", "resume", "cancel"):
        campaigns_api.post(f"/campaigns/{campaign_id}/{action}")
    campaigns_api.post(f"/campaigns/{campaign_id}/cancel")  # refused: nothing recorded

    entries = AuditEntry.objects.filter(object_type="campaign", object_id=str(campaign_id)).order_by("id")
    assert [(e.action, e.username, e.via) for e in entries] == [
        (action, "api:CRM", AuditEntry.Via.API)
        for action in (
            AuditEntry.Action.CAMPAIGN_CREATED,
            AuditEntry.Action.CAMPAIGN_STARTED,
            AuditEntry.Action.CAMPAIGN_PAUSED,
            AuditEntry.Action.CAMPAIGN_RESUMED,
            AuditEntry.Action.CAMPAIGN_CANCELLED,
        )
    ]
    assert entries[0].detail == {"rows": 2, "file": ""}


@pytest.mark.django_db
def test_a_token_without_the_campaigns_scope_is_403(api_for, vox_settings, simulator):
    reader = api_for(scopes=[CALLS_READ, DNC])
    assert_error(reader.get("/campaigns"), 403, "missing_scope")
    assert_error(
        reader.post("/campaigns", json={**settings_for(simulator), "rows": ROWS}), 403, "missing_scope"
    )
    assert_error(reader.post("/campaigns/1/start"), 403, "missing_scope")
    assert not Campaign.objects.exists()


# --- a start through the API, dialled by a real worker against the simulator
@pytest.fixture
def dispatch_worker(transactional_db, vox_settings, simulator, tmp_path):
    """A worker of its own (its own queue) whose Vox is this test's simulator, budget off."""
    env = {
        "VOX_API_BASE_URL": simulator.base_url,
        "VOX_API_KEY": keys.DEMO_KEY,
        "VOX_REQUESTS_PER_MINUTE": "0",
        "VOX_SYNC_CALLS_EVERY": "3600",
        "VOX_SYNC_DIRECTORY_EVERY": "3600",
    }
    with running_worker(_database_url(), tmp_path, extra_env=env) as worker:
        old = _point_app_at(worker.broker_url, worker.queue)
        try:
            yield worker
        finally:
            _point_app_at(*old)


@pytest.mark.redis
def test_a_start_through_the_api_has_a_worker_dial_each_row_once(campaigns_api, simulator, dispatch_worker):
    phones = ["+2348030000011", "+2348030000021", "+2348030000031"]
    rows = [{"customer_phone": p, "customer_name": f"C{n}", "invoice": f"I{n}"} for n, p in enumerate(phones)]
    campaign_id = created(campaigns_api, simulator, rows=rows)["id"]
    assert simulator.stats()["dialed"] == 0  # a draft dials nothing

    assert campaigns_api.post(f"/campaigns/{campaign_id}/start").status_code == 200
    in_flight = CampaignRow.objects.filter(campaign_id=campaign_id, state=RowState.IN_FLIGHT)
    dispatch_worker.wait_for(lambda: in_flight.count() == 3, what="the worker to dial the 3 rows")

    assert {p: n for p, n in simulator.stats()["dialed_by_phone"].items() if p in phones} == dict.fromkeys(
        phones, 1
    )
    listed = campaigns_api.get(f"/campaigns/{campaign_id}/rows", {"state": "in_flight"}).json()
    assert [r["attempts"] for r in listed["data"]] == [1, 1, 1]
    placed = PlacedCall.objects.filter(origin=PlacedCall.Origin.CAMPAIGN)
    assert sorted(r["attempt_key"] for r in listed["data"]) == sorted(
        str(k) for k in placed.values_list("idempotency_key", flat=True)
    )
    detail = campaigns_api.get(f"/campaigns/{campaign_id}").json()
    assert detail["counts"]["in_flight"] == 3 and detail["dial_rate_per_minute"] == 3.0


@pytest.mark.django_db
def test_a_body_over_what_voxdash_reads_is_413_pointing_at_the_upload(campaigns_api, simulator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    rows = [{"customer_phone": f"0803{i:07d}", "customer_name": "C", "invoice": "I"} for i in range(100)]
    refused = assert_error(
        campaigns_api.post("/campaigns", json={**settings_for(simulator), "rows": rows}), 413, "too_large"
    )
    assert "/api/v1/campaigns/upload" in refused["message"]
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_vox_unable_to_say_which_numbers_exist_is_503_not_a_wrong_field(
    campaigns_api, simulator, vox_settings
):
    vox_settings.VOX_MAX_RETRIES = 0  # the answer, not the client's waits between retries
    reset_client()
    simulator.faults.queue(503, count=10)
    refused = assert_error(
        campaigns_api.post("/campaigns", json={**settings_for(simulator), "rows": ROWS}),
        503,
        "upstream_error",
    )
    assert "Vox could not be asked" in refused["message"]
    assert not Campaign.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rows, status",
    [([{"customer_phone": "0801 234 5678", "customer_name": "A\x00", "invoice": "1"}], 422),
     ([{"customer_phone\x00": "0801 234 5678"}], 422),
     ([{"customer_phone": 10**25, "customer_name": "A", "invoice": "1"}], 422)],
    ids=["nul-cell", "nul-name", "huge-number"],
)  # fmt: skip
def test_cells_the_database_cannot_hold_are_refused_not_a_500(campaigns_api, simulator, rows, status):
    response = campaigns_api.post("/campaigns", json={**settings_for(simulator), "rows": rows})
    assert response.status_code == status, response.content
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_ids_and_pages_past_what_the_database_holds_are_404_and_422(campaigns_api):
    assert_error(campaigns_api.get(f"/campaigns/{2**70}"), 404, "not_found")
    assert_error(campaigns_api.post(f"/campaigns/{2**70}/start"), 404, "not_found")
    assert_error(campaigns_api.get(f"/campaigns/{2**70}/rows"), 404, "not_found")
    assert_error(campaigns_api.get("/campaigns/abc"), 404, "not_found")
    assert_error(campaigns_api.get("/campaigns", {"page": 10**7}), 422, "validation_error")
    assert campaigns_api.get("/campaigns", {"page": 10**6}).json()["data"] == []


def test_a_retried_create_with_the_same_key_makes_one_draft(campaigns_api, simulator):
    """A CRM whose create timed out sends it again with the same key: one draft, the first answer."""
    body = {**settings_for(simulator), "rows": ROWS}
    key = {"Idempotency-Key": "crm-december-1"}
    first = campaigns_api.post("/campaigns", json=body, headers=key)
    assert first.status_code == 201 and "Idempotency-Replayed" not in first.headers
    again = campaigns_api.post("/campaigns", json=body, headers=key)
    assert again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert Campaign.objects.count() == 1
    # Another list under the same key is a mistake, not a new campaign.
    other = {**body, "rows": ROWS[:1]}
    reused = assert_error(
        campaigns_api.post("/campaigns", json=other, headers=key), 409, "idempotency_key_reused"
    )
    assert reused["message"].endswith("Use a new key for a new campaign.")
    # Without a key each request is its own draft, as before.
    assert campaigns_api.post("/campaigns", json=body).status_code == 201
    assert campaigns_api.post("/campaigns", json=body).status_code == 201
    assert Campaign.objects.count() == 3


def test_a_retried_create_is_replayed_even_when_vox_has_gone_away(campaigns_api, simulator, vox_settings):
    """The key is looked up before the settings are judged (which asks Vox)."""
    body = {**settings_for(simulator), "rows": ROWS}
    key = {"Idempotency-Key": "crm-december-3"}
    first = campaigns_api.post("/campaigns", json=body, headers=key)
    assert first.status_code == 201
    vox_settings.VOX_MAX_RETRIES = 0
    reset_client()
    simulator.faults.queue(503, count=10)
    again = campaigns_api.post("/campaigns", json=body, headers=key)
    assert again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json() and Campaign.objects.count() == 1


def test_a_refused_create_frees_its_key_for_the_corrected_list(campaigns_api, simulator):
    key = {"Idempotency-Key": "crm-december-2"}
    body = {**settings_for(simulator, context="Remind {customer_name} about {missing}"), "rows": ROWS}
    assert campaigns_api.post("/campaigns", json=body, headers=key).status_code == 422
    corrected = {**settings_for(simulator), "rows": ROWS}
    assert campaigns_api.post("/campaigns", json=corrected, headers=key).status_code == 201
    assert Campaign.objects.count() == 1


@pytest.mark.django_db
def test_a_misspelt_setting_is_422_not_its_default(campaigns_api, simulator):
    body = {**settings_for(simulator), "window_strat": "10:00", "rows": ROWS}
    refused = assert_error(campaigns_api.post("/campaigns", json=body), 422, "validation_error")
    assert [d["field"] for d in refused["details"]] == ["window_strat"]
    assert not Campaign.objects.exists()
