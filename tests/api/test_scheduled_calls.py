"""/api/v1/scheduled-calls: a call for later, scheduled once per key, cancelled by its token, sent
once by the worker when due."""

from datetime import timedelta

import pytest
from django.utils import timezone

from voxdash.audit.models import AuditEntry
from voxdash.placements.models import PlacedCall
from voxdash.placements.scheduled import placements_due_send

from .placing import call_body
from .test_auth import assert_error

pytestmark = pytest.mark.django_db


def schedule(api, simulator, key="later-1", at=None, **changes):
    at = at or timezone.now() + timedelta(hours=2)
    body = call_body(simulator, place_at=at.isoformat(), **changes)
    return api.post("/scheduled-calls", json=body, headers={"Idempotency-Key": key})


def test_a_call_is_scheduled_once_and_sent_once_when_due(api, simulator):
    at = timezone.now() + timedelta(hours=2)
    first = schedule(api, simulator, at=at)
    assert first.status_code == 201, first.content
    assert first.json()["outcome"] == "scheduled" and first.json()["origin"] == "scheduled"
    again = schedule(api, simulator, at=at)
    assert again["Idempotency-Replayed"] == "true" and again.content == first.content
    assert PlacedCall.objects.count() == 1 and simulator.stats()["dialed"] == 0
    listed = api.get("/scheduled-calls").json()
    assert [c["key"] for c in listed["data"]] == [first.json()["key"]]
    assert placements_due_send(now=at + timedelta(seconds=1)) == 1
    assert placements_due_send(now=at + timedelta(seconds=2)) == 0
    assert simulator.stats()["dialed"] == 1
    status = api.get(f"/placed-calls/{first.json()['key']}").json()
    assert status["outcome"] == "queued" and status["status"] in (
        "queued",
        "ringing",
        "in_progress",
        "completed",
    )
    assert (
        AuditEntry.objects.filter(
            action="call_scheduled", username=f"api:{api.token.name}", via="api"
        ).count()
        == 1
    )


def test_a_time_in_the_past_is_422_naming_the_field(api, simulator):
    body = assert_error(
        schedule(api, simulator, at=timezone.now() - timedelta(minutes=1)), 422, "validation_error"
    )
    assert [d["field"] for d in body["details"]] == ["place_at"]


def test_a_token_cancels_its_own_scheduled_call_once(api_for, vox_settings, simulator):
    crm, other = api_for(), api_for()
    key = schedule(crm, simulator).json()["key"]
    assert_error(other.post(f"/scheduled-calls/{key}/cancel"), 403, "forbidden")
    cancelled = crm.post(f"/scheduled-calls/{key}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["outcome"] == "cancelled"
    assert_error(crm.post(f"/scheduled-calls/{key}/cancel"), 409, "invalid_state")
    assert crm.get("/scheduled-calls").json()["data"] == []
    assert placements_due_send(now=timezone.now() + timedelta(days=1)) == 0
    assert simulator.stats()["dialed"] == 0
    assert AuditEntry.objects.filter(action="call_cancelled", via="api").count() == 1


def test_a_scheduled_call_is_cancelled_by_the_idempotency_key_that_scheduled_it(api, simulator):
    assert schedule(api, simulator, key="crm-later-7").status_code == 201
    cancelled = api.post("/scheduled-calls/crm-later-7/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["outcome"] == "cancelled"


def test_an_unknown_key_is_404(api):
    assert_error(api.post("/scheduled-calls/6f1c2f0e-1b7e-4d1e-9a55-1d2e3f4a5b6c/cancel"), 404, "not_found")
