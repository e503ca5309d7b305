"""Parsing of response bodies: strict where voxdash depends on a field, tolerant elsewhere."""

from datetime import UTC, datetime, timedelta

import pytest

from voxdash.vox import errors, types

CALL = {
    "id": "c1a2b3c4",
    "businessId": "b1a2c3d4",
    "direction": "outbound",
    "status": "completed",
    "customerPhone": "+2348012345678",
    "customerName": "Ada Lovelace",
    "durationSeconds": 122,
    "startedAt": "2026-01-15T10:00:00.000Z",
    "endedAt": "2026-01-15T10:02:02.000Z",
    "createdAt": "2026-01-15T10:00:00.000Z",
}


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-15T10:00:00.000Z",
        "2026-01-15T10:00:00Z",
        "2026-01-15T11:00:00+01:00",
        "2026-01-15T05:00:00.000000-05:00",
        "2026-01-15T10:00:00",  # naive: the contract says UTC
    ],
)
def test_timestamps_become_aware_utc(value):
    call = types.Call.from_api({**CALL, "createdAt": value})
    assert call.created_at == datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    assert call.created_at.utcoffset() == timedelta(0)
    assert call.created_at.tzinfo is UTC


def test_call_from_documented_example():
    call = types.Call.from_api(CALL)
    assert (call.id, call.direction, call.status, call.duration_seconds) == (
        "c1a2b3c4",
        "outbound",
        "completed",
        122,
    )
    assert call.ended_at - call.started_at == timedelta(seconds=122)
    assert call.is_terminal and call.is_known_status
    assert call.raw is not None and call.raw["customerName"] == "Ada Lovelace"


def test_queued_call_has_none_for_what_has_not_happened():
    raw = {
        **CALL,
        "status": "queued",
        "customerName": None,
        "durationSeconds": None,
        "startedAt": None,
        "endedAt": None,
    }
    call = types.Call.from_api(raw)
    assert (call.customer_name, call.duration_seconds, call.started_at, call.ended_at) == (
        None,
        None,
        None,
        None,
    )
    assert not call.is_terminal


def test_unknown_fields_and_status_are_kept_not_fatal():
    call = types.Call.from_api({**CALL, "status": "voicemail", "sentiment": "happy"})
    assert call.status == "voicemail"
    assert not call.is_known_status and not call.is_terminal
    assert call.raw["sentiment"] == "happy"


def test_garbage_in_optional_field_becomes_none():
    call = types.Call.from_api({**CALL, "endedAt": "yesterday", "durationSeconds": "long", "customerName": 7})
    assert (call.ended_at, call.duration_seconds, call.customer_name) == (None, None, None)


@pytest.mark.parametrize(
    "change",
    [
        {"id": None},
        {"id": 42},
        {"status": ""},
        {"createdAt": "not a date"},
        {"createdAt": None},
        {"customerPhone": None},
    ],
)
def test_garbage_in_required_field_is_a_bad_response(change):
    with pytest.raises(errors.VoxBadResponse):
        types.Call.from_api({**CALL, **change})


def test_missing_required_field_is_a_bad_response():
    raw = dict(CALL)
    del raw["direction"]
    with pytest.raises(errors.VoxBadResponse, match="direction"):
        types.Call.from_api(raw)


def test_a_row_that_is_not_an_object_is_a_bad_response():
    with pytest.raises(errors.VoxBadResponse):
        types.Call.from_api(["c1"])


def test_call_equality_ignores_raw_and_is_hashable():
    a = types.Call.from_api(CALL)
    b = types.Call.from_api({**CALL, "extra": 1})
    assert a == b and hash(a) == hash(b)


def test_number_can_place_calls_only_when_active_and_voice_capable():
    base = {
        "id": "n1",
        "phoneNumber": "+2348012345678",
        "country": "NG",
        "voiceCapable": True,
        "smsCapable": False,
        "status": "active",
        "provider": "telnyx",
        "createdAt": "2026-01-01T00:00:00.000Z",
    }
    assert types.VoiceNumber.from_api(base).can_place_calls
    assert not types.VoiceNumber.from_api({**base, "status": "suspended"}).can_place_calls
    assert not types.VoiceNumber.from_api({**base, "voiceCapable": False}).can_place_calls
    assert not types.VoiceNumber.from_api(
        {**base, "voiceCapable": "yes"}
    ).can_place_calls  # only real booleans


def test_agent_parses_and_tolerates_missing_optional_fields():
    agent = types.Agent.from_api({"id": "a1", "name": "Support Agent", "status": "active", "isDefault": True})
    assert agent.is_active and agent.is_default
    assert (agent.language, agent.voice_provider, agent.created_at) == (None, None, None)
    assert not types.Agent.from_api({"id": "a2", "name": "Old", "status": "archived"}).is_active


def test_call_request_body_is_snake_case_and_omits_missing_name():
    request = types.CallRequest("+2348012345678", "payment_reminder", "Remind about INV-1", "n1", "a1")
    assert request.to_body() == {
        "customer_phone": "+2348012345678",
        "purpose": "payment_reminder",
        "context": "Remind about INV-1",
        "business_voice_number_id": "n1",
        "ai_agent_id": "a1",
    }
    named = types.CallRequest("+2348012345678", "p", "c", "n1", "a1", customer_name="Ada")
    assert named.to_body()["customer_name"] == "Ada"


def test_health_reports_test_mode():
    health = types.Health.from_api({"businessId": "b", "environment": "test", "keyId": "k"}, 12.5)
    assert health.is_test and health.latency_ms == 12.5
    assert not types.Health.from_api({"businessId": "b", "environment": "live", "keyId": "k"}, 1).is_test
    with pytest.raises(errors.VoxBadResponse):
        types.Health.from_api({"businessId": "b"}, 1)


class TestPageMeta:
    def test_complete_meta_is_taken_as_sent(self):
        meta = {"total": 300, "page": 2, "perPage": 100, "totalPages": 3, "hasMore": True}
        assert types.PageMeta.from_api(meta, page=2, limit=100, rows=100) == types.PageMeta(
            300, 2, 100, 3, True
        )

    def test_has_more_wins_over_derivation(self):
        meta = {"total": 10, "page": 1, "perPage": 5, "totalPages": 1, "hasMore": True}
        assert types.PageMeta.from_api(meta, page=1, limit=5, rows=5).has_more is True

    def test_missing_meta_and_full_page_means_maybe_more(self):
        meta = types.PageMeta.from_api(None, page=1, limit=20, rows=20)
        assert meta == types.PageMeta(total=None, page=1, per_page=20, total_pages=None, has_more=True)

    def test_missing_meta_and_short_page_is_the_last(self):
        meta = types.PageMeta.from_api({}, page=3, limit=20, rows=5)
        assert meta == types.PageMeta(total=45, page=3, per_page=20, total_pages=3, has_more=False)

    def test_has_more_derived_from_total(self):
        meta = types.PageMeta.from_api({"total": 50, "perPage": 20}, page=2, limit=20, rows=20)
        assert (meta.total_pages, meta.has_more) == (3, True)
        last = types.PageMeta.from_api({"total": 40, "perPage": 20}, page=2, limit=20, rows=20)
        assert (last.total_pages, last.has_more) == (2, False)

    def test_empty_result(self):
        meta = types.PageMeta.from_api({"total": 0}, page=1, limit=20, rows=0)
        assert (meta.total, meta.total_pages, meta.has_more) == (0, 0, False)


def test_offsets_other_than_utc_are_converted():
    call = types.Call.from_api({**CALL, "startedAt": "2026-01-15T12:30:00+02:30"})
    assert call.started_at == datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
