import pytest

from .dataset import TZ, make_calls, place


@pytest.fixture
def call_set(db, settings):
    from voxdash.directory.models import Agent, VoiceNumber

    settings.TIME_ZONE = TZ
    for vox_id, name in (("agent-a", "Ada"), ("agent-b", "Bayo")):
        Agent.objects.create(vox_id=vox_id, name=name, status="active")
    for vox_id, phone in (("num-1", "+2348000000001"), ("num-2", "+2348000000002")):
        VoiceNumber.objects.create(vox_id=vox_id, phone_number=phone, status="active", voice_capable=True)
    make_calls()
    place("c02", agent="agent-a", number="num-1")
    place("c07", agent="agent-a", number="num-2", username="ada")
    place("c03", agent="agent-b", number="num-1")
