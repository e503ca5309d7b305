"""GET /api/v1/numbers and /agents: the mirror's directory, the ids to place a call with."""

import pytest
from django.utils import timezone

from voxdash.api.scopes import CALLS_READ, CAMPAIGNS
from voxdash.directory.models import Agent, VoiceNumber

from .test_auth import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory(db):
    VoiceNumber.objects.create(
        vox_id="num-2", phone_number="+2348000000002", country="NG", status="active",
        voice_capable=True, provider="mtn",
    )  # fmt: skip
    VoiceNumber.objects.create(vox_id="num-1", phone_number="+2348000000001", status="active")
    VoiceNumber.objects.create(
        vox_id="num-gone", phone_number="+2348000000000", status="active", vanished_at=timezone.now()
    )
    Agent.objects.create(vox_id="agent-b", name="Bayo", status="active", language="en", is_default=True)
    Agent.objects.create(vox_id="agent-a", name="Ada", status="inactive", voice_provider="eleven")
    Agent.objects.create(vox_id="agent-gone", name="Aaron", status="active", vanished_at=timezone.now())


def test_numbers_in_order_without_the_vanished(api_for, directory):
    response = api_for(scopes=[CALLS_READ]).get("/numbers")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [n["id"] for n in body["data"]] == ["num-1", "num-2"]
    assert body["data"][1] == {
        "id": "num-2", "phone_number": "+2348000000002", "country": "NG", "status": "active",
        "voice_capable": True, "sms_capable": False, "provider": "mtn", "can_place_calls": True,
    }  # fmt: skip
    assert body["data"][0]["can_place_calls"] is False  # not voice-capable: the form would not offer it
    assert body["total"] == 2 and body["has_more"] is False


def test_agents_by_name_without_the_vanished(api_for, directory):
    body = api_for(scopes=[CALLS_READ]).get("/agents").json()
    assert [a["id"] for a in body["data"]] == ["agent-a", "agent-b"]
    assert body["data"][1] == {
        "id": "agent-b", "name": "Bayo", "status": "active", "language": "en",
        "voice_provider": "", "is_default": True,
    }  # fmt: skip


def test_a_page_of_them(api_for, directory):
    api = api_for(scopes=[CALLS_READ])
    first = api.get("/agents", {"limit": 1}).json()
    assert [a["id"] for a in first["data"]] == ["agent-a"] and first["has_more"] is True
    second = api.get("/agents", {"limit": 1, "page": 2}).json()
    assert [a["id"] for a in second["data"]] == ["agent-b"] and second["has_more"] is False
    assert_error(api.get("/numbers", {"limit": 0}), 422, "validation_error")


@pytest.mark.parametrize("path", ["/numbers", "/agents"])
def test_they_need_calls_read(api_for, directory, path):
    assert_error(api_for(scopes=[CAMPAIGNS]).get(path), 403, "missing_scope")
