"""Numbers and agents in the mirror (voxdash.directory.sync)."""

import pytest
from django.utils import timezone

from voxdash.directory.models import Agent, VoiceNumber
from voxdash.directory.sync import directory_sync
from voxdash.directory.tasks import sync_directory
from voxdash.mirror.lock import SyncAlreadyRunning, sync_lock


def test_sync_creates_then_finds_nothing_new(vox_settings, simulator, db):
    first = directory_sync()
    assert (first.created, first.updated, first.requests) == (9, 0, 2)
    assert VoiceNumber.objects.count() == 5 and Agent.objects.count() == 4
    assert Agent.objects.filter(is_default=True).count() == 1
    second = directory_sync()
    assert (second.created, second.updated, second.unchanged) == (0, 0, 9)


def test_changes_are_applied(vox_settings, simulator, db):
    directory_sync()
    agent = simulator.store.list_agents()[0]
    simulator.update_agent(agent["id"], {"name": "Renamed Agent"})
    summary = directory_sync()
    assert summary.updated == 1 and Agent.objects.get(vox_id=agent["id"]).name == "Renamed Agent"


def test_vanished_ones_are_marked_not_deleted_and_come_back(vox_settings, simulator, db):
    directory_sync()
    gone = VoiceNumber.objects.create(vox_id="num_gone", phone_number="+2340000000000", status="active")
    summary = directory_sync()
    gone.refresh_from_db()
    assert gone.vanished_at is not None and summary.updated == 1
    assert VoiceNumber.objects.filter(vanished_at__isnull=True).count() == 5
    # Marked once, not again each run.
    assert directory_sync().updated == 0

    VoiceNumber.objects.filter(vanished_at__isnull=True).update(vanished_at=timezone.now())
    directory_sync()
    assert VoiceNumber.objects.filter(vanished_at__isnull=True).count() == 5


def test_a_failure_changes_nothing(vox_settings, simulator, db, settings):
    from voxdash.vox import errors, reset_client

    settings.VOX_MAX_RETRIES = 0
    reset_client()
    directory_sync()
    simulator.faults.queue(500, path="/v1/vox/agents")
    with pytest.raises(errors.VoxUnavailable):
        directory_sync()
    assert not VoiceNumber.objects.exclude(vanished_at=None).exists()


def test_task_and_lock(vox_settings, simulator, db):
    with sync_lock("directory"):
        assert sync_directory() is None
        with pytest.raises(SyncAlreadyRunning):
            directory_sync()
    assert sync_directory()["created"] == 9


def test_pages_and_the_call_form_fall_back_to_the_mirror(viewer_client, caller, simulator, settings):
    """Vox down: numbers, agents and the place-a-call pickers come from the local copy."""
    from django.urls import reverse

    from voxdash.directory.sync import directory_sync
    from voxdash.vox import reset_client

    directory_sync()
    settings.VOX_MAX_RETRIES = 0
    reset_client()
    simulator.faults.queue(503, count=50)
    numbers = viewer_client.get(reverse("directory:numbers"))
    assert numbers.context["listing"].source == "mirror" and numbers.context["listing"].items
    assert b'data-source="mirror"' in numbers.content and b"Showing the local copy" in numbers.content
    agents = viewer_client.get(reverse("directory:agents"))
    assert agents.context["listing"].source == "mirror"
    viewer_client.force_login(caller)
    form = viewer_client.get(reverse("placements:new")).context["form"]
    assert form.fields["business_voice_number_id"].choices and form.fields["ai_agent_id"].choices
