"""GET /v1/vox/calls: envelope, fields, pagination, filters and search, per the contract."""

from __future__ import annotations

import math
import re
import unicodedata

import pytest

from vox_simulator import Simulator

from .conftest import api_client, running

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CALL_FIELDS = {
    "id",
    "businessId",
    "direction",
    "status",
    "customerPhone",
    "customerName",
    "durationSeconds",
    "startedAt",
    "endedAt",
    "createdAt",
}
STATUSES = {"queued", "ringing", "in_progress", "completed", "failed", "no_answer", "busy", "canceled"}


def all_calls(api) -> list[dict]:
    rows, page = [], 1
    while True:
        body = api.get("/v1/vox/calls", params={"page": page, "limit": 100}).json()
        rows += body["data"]
        if not body["meta"]["hasMore"]:
            return rows
        page += 1


def test_first_page_envelope_and_defaults(api):
    response = api.get("/v1/vox/calls")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["message"] == "Vox calls retrieved"
    assert body["meta"] == {"total": 300, "page": 1, "perPage": 20, "totalPages": 15, "hasMore": True}
    assert len(body["data"]) == 20


def test_call_fields_and_timestamps(api):
    for call in all_calls(api):
        assert set(call) == CALL_FIELDS
        assert call["status"] in STATUSES
        assert call["direction"] in ("inbound", "outbound")
        assert re.match(r"^\+[1-9]\d{7,14}$", call["customerPhone"])
        assert ISO_MS_Z.match(call["createdAt"])
        for name in ("startedAt", "endedAt"):
            assert call[name] is None or ISO_MS_Z.match(call[name])
        if call["status"] in ("queued", "ringing"):
            assert call["startedAt"] is call["endedAt"] is call["durationSeconds"] is None
        if call["status"] == "completed":
            assert 20 <= call["durationSeconds"] <= 600
            assert call["startedAt"] and call["endedAt"] >= call["startedAt"] >= call["createdAt"]


def test_newest_first(api):
    created = [c["createdAt"] for c in all_calls(api)]
    assert created == sorted(created, reverse=True)


def test_last_page_and_past_the_end(api):
    last = api.get("/v1/vox/calls", params={"page": 15}).json()
    assert len(last["data"]) == 20
    assert last["meta"]["hasMore"] is False
    past = api.get("/v1/vox/calls", params={"page": 16}).json()
    assert past["data"] == []
    assert past["meta"] == {"total": 300, "page": 16, "perPage": 20, "totalPages": 15, "hasMore": False}


def test_partial_last_page(api):
    body = api.get("/v1/vox/calls", params={"page": 3, "limit": 140}).json()  # capped to 100
    assert body["meta"] == {"total": 300, "page": 3, "perPage": 100, "totalPages": 3, "hasMore": False}
    body = api.get("/v1/vox/calls", params={"page": 5, "limit": 70}).json()
    assert len(body["data"]) == 300 - 4 * 70
    assert body["meta"]["totalPages"] == math.ceil(300 / 70)
    assert body["meta"]["hasMore"] is False


def test_limit_is_capped_at_100(api):
    body = api.get("/v1/vox/calls", params={"limit": 1000}).json()
    assert len(body["data"]) == 100
    assert body["meta"]["perPage"] == 100


def test_limit_one_walks_the_list_in_order(api):
    first = api.get("/v1/vox/calls", params={"limit": 1, "page": 1}).json()
    second = api.get("/v1/vox/calls", params={"limit": 1, "page": 2}).json()
    two = api.get("/v1/vox/calls", params={"limit": 2}).json()["data"]
    assert first["meta"]["totalPages"] == 300 and first["meta"]["hasMore"] is True
    assert [first["data"][0]["id"], second["data"][0]["id"]] == [c["id"] for c in two]


def test_pages_do_not_overlap(api):
    ids = [c["id"] for c in all_calls(api)]
    assert len(ids) == len(set(ids)) == 300


@pytest.mark.parametrize(
    "params",
    [{"page": "0"}, {"page": "-1"}, {"page": "two"}, {"limit": "0"}, {"limit": "1.5"}, {"limit": ""}],
)
def test_bad_page_or_limit_is_400(api, params):
    response = api.get("/v1/vox/calls", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_every_status_is_seeded_and_live_ones_are_newest(api):
    calls = all_calls(api)
    assert {c["status"] for c in calls} == STATUSES
    live = [i for i, c in enumerate(calls) if c["status"] in ("queued", "ringing", "in_progress")]
    assert max(live) < 10


@pytest.mark.parametrize("direction", ["inbound", "outbound"])
def test_direction_filter(api, direction):
    expected = [c["id"] for c in all_calls(api) if c["direction"] == direction]
    body = api.get("/v1/vox/calls", params={"direction": direction, "limit": 100}).json()
    assert body["meta"]["total"] == len(expected) > 0
    assert [c["id"] for c in body["data"]] == expected[:100]


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_status_filter(api, status):
    expected = [c["id"] for c in all_calls(api) if c["status"] == status]
    body = api.get("/v1/vox/calls", params={"status": status, "limit": 100}).json()
    assert body["meta"]["total"] == len(expected) > 0
    assert [c["id"] for c in body["data"]] == expected[:100]


def test_filters_combine(api):
    expected = [
        c["id"]
        for c in all_calls(api)
        if c["status"] == "completed" and c["direction"] == "inbound" and "+234" in c["customerPhone"]
    ]
    body = api.get(
        "/v1/vox/calls",
        params={"status": "completed", "direction": "inbound", "search": "+234", "limit": 100},
    ).json()
    assert [c["id"] for c in body["data"]] == expected[:100]
    assert body["meta"]["total"] == len(expected) > 0


def test_unknown_filter_values_match_nothing(api):
    for params in ({"status": "weird"}, {"direction": "sideways"}, {"search": "no such customer"}):
        body = api.get("/v1/vox/calls", params=params).json()
        assert body["data"] == []
        assert body["meta"] == {"total": 0, "page": 1, "perPage": 20, "totalPages": 0, "hasMore": False}


@pytest.mark.parametrize("query", ["Fúnmiláyọ̀", "fúnmiláyọ̀ adébáyọ̀", "ZOË MÜLLER", "josé", "Ọkafọ̀r"])
def test_search_by_name_with_accents(api, query):
    body = api.get("/v1/vox/calls", params={"search": query, "limit": 100}).json()
    assert body["data"], query
    wanted = unicodedata.normalize("NFC", query).casefold()
    for call in body["data"]:
        assert wanted in unicodedata.normalize("NFC", call["customerName"]).casefold()


def test_search_matches_decomposed_accents(api):
    decomposed = unicodedata.normalize("NFD", "Zoë Müller")
    body = api.get("/v1/vox/calls", params={"search": decomposed}).json()
    assert {c["customerName"] for c in body["data"]} == {"Zoë Müller"}


def test_search_is_case_insensitive_substring_of_name(api):
    calls = all_calls(api)
    expected = [c["id"] for c in calls if "okonkwo" in (c["customerName"] or "").lower()]
    body = api.get("/v1/vox/calls", params={"search": "OKONKWO", "limit": 100}).json()
    assert [c["id"] for c in body["data"]] == expected
    assert any(c["customerName"] == "Adaeze Okonkwo" for c in body["data"])


def national(phone: str) -> str:
    for code in ("+234", "+233", "+254", "+44"):
        if phone.startswith(code):
            return "0" + phone[len(code) :]
    return phone.removeprefix("+1")


def test_search_by_phone_e164_and_national(api):
    by_e164 = api.get("/v1/vox/calls", params={"search": "+2348012345678"}).json()["data"]
    assert by_e164 and {c["customerPhone"] for c in by_e164} == {"+2348012345678"}
    by_national = api.get("/v1/vox/calls", params={"search": "0801 234"}).json()["data"]
    assert "+2348012345678" in {c["customerPhone"] for c in by_national}
    for call in by_national:
        assert "0801234" in national(call["customerPhone"])


def test_search_by_phone_fragment(api):
    expected = [c["id"] for c in all_calls(api) if "803" in c["customerPhone"]]
    body = api.get("/v1/vox/calls", params={"search": "803", "limit": 100}).json()
    assert body["meta"]["total"] == len(expected) > 0
    assert [c["id"] for c in body["data"]] == expected[:100]


def test_null_names_are_listed(api):
    assert any(c["customerName"] is None for c in all_calls(api))


def test_same_seed_same_calls_other_seed_other_calls():
    with running(seed=7, calls=50) as a, running(seed=7, calls=50) as b, running(seed=8, calls=50) as c:
        lists = []
        for sim in (a, b, c):
            with api_client(sim) as http:
                lists.append(
                    [
                        (x["id"], x["customerPhone"], x["status"])
                        for x in http.get("/v1/vox/calls", params={"limit": 100}).json()["data"]
                    ]
                )
        assert lists[0] == lists[1]
        assert lists[0] != lists[2]


def test_hundred_thousand_calls_seed_and_serve_deep_pages():
    # How fast it serves them is the benchmarks' to say (benchmarks/history_page.py uses it as
    # the floor); a test only checks what it serves.
    sim = Simulator(port=0, calls=100_000, lifecycle_step_seconds=None, rate_limit=None)
    with sim, api_client(sim) as http:
        body = http.get("/v1/vox/calls", params={"limit": 100, "page": 500}).json()
        assert len(body["data"]) == 100 and body["meta"]["total"] == 100_000
        filtered = http.get("/v1/vox/calls", params={"status": "completed", "search": "+234"}).json()
        assert filtered["meta"]["total"] > 10_000
