"""The call page at /calls/<vox id>/, from the mirror."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from voxdash.calls.models import Call
from voxdash.webhooks.models import WebhookEvent


@pytest.fixture
def call(db):
    return Call.objects.create(
        vox_id="call_detail_1",
        direction="outbound",
        status="completed",
        customer_phone="+2348012345678",
        customer_name="Adaeze Okonkwo",
        duration_seconds=125,
        created_at=timezone.now() - timedelta(hours=1),
        started_at=timezone.now() - timedelta(minutes=59),
        ended_at=timezone.now() - timedelta(minutes=57),
        recording_url="https://recordings.example/call_detail_1.wav",
    )


def event(call_id, type_, minutes_ago, **data):
    n = WebhookEvent.objects.count()
    return WebhookEvent.objects.create(
        event_id=f"evt_{n}",
        event_type=type_,
        call_vox_id=call_id,
        raw_body="{}",
        created=timezone.now() - timedelta(minutes=minutes_ago),
        payload={"data": data},
        outcome=WebhookEvent.Outcome.APPLIED,
    )


def test_detail_shows_fields_recording_and_timeline_in_event_order(viewer_client, call):
    # Received out of order, shown in the order Vox says they happened.
    event(call.vox_id, "vox.recording.ready", 56)
    event(call.vox_id, "vox.call.started", 59)
    event(call.vox_id, "vox.call.completed", 57)
    event("someone_else", "vox.call.failed", 58)
    response = viewer_client.get(reverse("calls:detail", args=[call.vox_id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Adaeze Okonkwo" in body and "+234 801 234 5678" in body and "2:05" in body
    assert '<audio controls preload="none" src="https://recordings.example/call_detail_1.wav"' in body
    assert "download" in body
    types = [e.event_type for e in response.context["events"]]
    assert types == ["vox.call.started", "vox.call.completed", "vox.recording.ready"]
    positions = [body.index(t) for t in ("vox.call.started", "vox.call.completed", "vox.recording.ready")]
    assert positions == sorted(positions)
    # Over: no polling.
    assert 'hx-trigger="every 3s"' not in body


def test_a_live_call_polls_its_status_until_it_ends(viewer_client, call):
    Call.objects.filter(pk=call.pk).update(status="ringing", recording_url="")
    url = reverse("calls:detail", args=[call.vox_id])
    body = viewer_client.get(url).content.decode()
    status_url = url  # the page polls itself; htmx gets only the status block
    assert f'data-hx-get="{status_url}" data-hx-trigger="every 3s"' in body and "<audio" not in body

    partial = viewer_client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and 'hx-trigger="every 3s"' in partial and "Ringing" in partial

    Call.objects.filter(pk=call.pk).update(status="completed", recording_url="https://r.example/x.wav")
    partial = viewer_client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in partial and "Completed" in partial and "<audio" in partial


def test_unknown_call_is_a_friendly_404(viewer_client, db):
    response = viewer_client.get(reverse("calls:detail", args=["call_nope"]))
    assert response.status_code == 404
    body = response.content.decode()
    assert "call_nope" in body and reverse("calls:list") in body and "Traceback" not in body
    assert "Sync now" not in body  # viewers cannot sync


def test_unknown_call_offers_staff_a_sync(staff_client):
    response = staff_client.get(reverse("calls:detail", args=["call_nope"]))
    assert response.status_code == 404 and "Sync now" in response.content.decode()


def test_history_rows_link_to_the_detail_page(viewer_client, synced):
    response = viewer_client.get(reverse("calls:list"))
    first = response.context["history"].calls[0]
    assert f'href="{reverse("calls:detail", args=[first.id])}"' in response.content.decode()
    assert viewer_client.get(reverse("calls:detail", args=[first.id])).status_code == 200


def test_detail_shows_who_placed_the_call(viewer_client, call, caller):
    from voxdash.placements.models import PlacedCall, payload_fingerprint

    assert b'id="placed-call"' not in viewer_client.get(reverse("calls:detail", args=[call.vox_id])).content
    payload = {
        "customer_phone": call.customer_phone,
        "purpose": "payment_reminder",
        "context": "Invoice 42 <b>due</b>",
        "business_voice_number_id": "n",
        "ai_agent_id": "a",
    }
    PlacedCall.objects.create(
        user=caller,
        username=caller.username,
        payload=payload,
        payload_fingerprint=payload_fingerprint(payload),
        customer_phone=call.customer_phone,
        outcome="queued",
        vox_placement_id="r-1",
        listed_call_id=call.vox_id,
    )
    body = viewer_client.get(reverse("calls:detail", args=[call.vox_id])).content.decode()
    assert 'id="placed-call"' in body and "cal" in body and "payment_reminder" in body
    assert "Invoice 42 &lt;b&gt;due&lt;/b&gt;" in body


def test_a_call_known_only_from_webhooks_shows_the_placements_phone(viewer_client, caller):
    from django.utils import timezone

    from voxdash.calls.models import Call
    from voxdash.placements.models import PlacedCall, payload_fingerprint

    call = Call.objects.create(
        vox_id="c-webhook-only",
        direction="outbound",
        status="in_progress",
        customer_phone="",
        created_at=timezone.now(),
    )
    payload = {
        "customer_phone": "+2348035550120",
        "customer_name": "Demo Person",
        "purpose": "p",
        "context": "c",
        "business_voice_number_id": "n",
        "ai_agent_id": "a",
    }
    PlacedCall.objects.create(
        user=caller,
        username=caller.username,
        payload=payload,
        payload_fingerprint=payload_fingerprint(payload),
        customer_phone="+2348035550120",
        outcome="queued",
        vox_placement_id=call.vox_id,
    )
    body = viewer_client.get(reverse("calls:detail", args=[call.vox_id])).content.decode()
    assert "+234 803 555 0120" in body and "Demo Person" in body
