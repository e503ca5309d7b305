"""Numbers and agents: one mapping per kind and one truncation rule, whether the sync's listing or
a webhook's agent update writes them."""

from datetime import UTC, datetime

import pytest

from voxdash.directory.models import Agent, VoiceNumber
from voxdash.mirror.directory import agent_merge_event, directory_merge_listing
from voxdash.vox import types

pytestmark = pytest.mark.django_db

LONG_NAME = "Ọlá " * 100  # 400 characters: twice the column


def agent(**changes) -> types.Agent:
    data = {
        "id": "agent_1",
        "name": "Ada",
        "language": "en-NG",
        "voiceProvider": "vox",
        "voiceId": "v1",
        "persona": "Warm",
        "isDefault": False,
        "status": "active",
    }
    return types.Agent.from_api({**data, **changes})


def number(**changes) -> types.VoiceNumber:
    data = {
        "id": "num_1",
        "phoneNumber": "+2348012345678",
        "country": "NG",
        "voiceCapable": True,
        "smsCapable": False,
        "status": "active",
        "provider": "vox",
    }
    return types.VoiceNumber.from_api({**data, **changes})


def test_the_listing_and_the_event_cut_an_agent_to_the_same_sizes():
    directory_merge_listing(numbers=[], agents=[agent(name=LONG_NAME, voiceProvider="p" * 99)])
    listed = Agent.objects.values("name", "voice_provider").get()
    Agent.objects.all().delete()
    written, _ = agent_merge_event(
        agent=agent(name=LONG_NAME, voiceProvider="p" * 99), at=datetime.now(UTC), newer_applied=lambda: False
    )
    assert written
    assert Agent.objects.values("name", "voice_provider").get() == listed
    assert listed == {"name": LONG_NAME[:200], "voice_provider": "p" * 64}


def test_an_odd_number_fits_its_columns_instead_of_failing_the_sync():
    outcomes = directory_merge_listing(numbers=[number(country="NGA", provider="x" * 80)], agents=[])
    assert outcomes == ["created"]
    stored = VoiceNumber.objects.get()
    assert (stored.country, stored.provider) == ("NG", "x" * 64)


def test_an_agent_update_keeps_what_the_listing_wrote_and_only_it_changes():
    directory_merge_listing(numbers=[], agents=[agent()])
    agent_merge_event(
        agent=agent(name="Ada II", isDefault=True), at=datetime.now(UTC), newer_applied=lambda: False
    )
    stored = Agent.objects.get()
    assert (stored.name, stored.is_default, stored.voice_id, stored.vanished_at) == (
        "Ada II",
        True,
        "v1",
        None,
    )
    assert directory_merge_listing(numbers=[], agents=[agent(name="Ada II", isDefault=True)]) == ["unchanged"]


def test_an_older_agent_update_is_ignored():
    directory_merge_listing(numbers=[], agents=[agent()])
    written, detail = agent_merge_event(
        agent=agent(name="Stale"), at=datetime.now(UTC), newer_applied=lambda: True
    )
    assert not written and "later update" in detail
    assert Agent.objects.get().name == "Ada"
