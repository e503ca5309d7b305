"""'Sync now': staff asking for a sync spend everyone's request budget, so it is recorded."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from voxdash.audit.log import Action

from .conftest import ADDRESS, entries, rows_of


def test_sync_now_is_recorded_and_a_refused_press_is_not(staff, viewer, vox_settings, auditor):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(viewer)
    assert client.post(reverse("calls:sync")).status_code == 403
    client.force_login(staff)
    assert client.post(reverse("calls:sync"), headers={"HX-Request": "true"}).status_code == 200
    [asked] = entries(Action.SYNC_REQUESTED)
    assert (asked.username, asked.remote_addr, asked.object_url) == (
        "sam",
        ADDRESS,
        reverse("calls:sync_status"),
    )
    assert rows_of(auditor, Action.SYNC_REQUESTED) == [
        ["sam", ADDRESS, "Asked for a sync now", "Call list (incremental) sync", ""]
    ]
