"""Re-running a stored webhook event from the webhook log."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from tests.webhooks.conftest import call_data, event
from voxdash.audit.log import Action
from voxdash.webhooks.models import WebhookEvent

from .conftest import ADDRESS, entries, rows_of


def stored(payload: dict) -> WebhookEvent:
    return WebhookEvent.objects.create(
        event_id=payload["id"],
        event_type=payload["type"],
        raw_body=json.dumps(payload),
        payload=payload,
        outcome=WebhookEvent.Outcome.FAILED,
        call_vox_id=payload["data"]["callId"],
    )


def test_a_rerun_is_recorded_with_its_new_outcome_and_a_link_to_the_event(
    staff, vox_settings, viewer, auditor
):
    stale = stored(event("vox.call.started", call_data("call_1", "in_progress"), event_id="evt_started"))
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(viewer)
    assert client.post(reverse("webhooks:log_rerun", args=[stale.pk])).status_code == 403  # staff only
    client.force_login(staff)
    assert client.post(reverse("webhooks:log_rerun", args=[stale.pk])).status_code == 302
    assert client.post(reverse("webhooks:log_rerun", args=[999_999])).status_code == 404
    [rerun] = entries(Action.WEBHOOK_RERUN)
    assert (rerun.username, rerun.remote_addr, rerun.object_url) == (
        "sam",
        ADDRESS,
        reverse("webhooks:log_detail", args=[stale.pk]),
    )
    assert rows_of(auditor, Action.WEBHOOK_RERUN) == [
        [
            "sam",
            ADDRESS,
            "Re-ran a webhook event",
            "vox.call.started evt_started webhook event",
            "outcome: Applied",
        ]
    ]
