"""Nightly pruning of what the subscriptions keep: events with their delivery log and what each
call was told as, after VOXDASH_API_RETENTION_DAYS (the API's keys: tests/api/test_idempotency.py)."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from voxdash.calls.models import Call
from voxdash.subscriptions.models import CallSeen, Event, EventDelivery, Subscription
from voxdash.subscriptions.retention import events_prune

pytestmark = pytest.mark.django_db


def _event(age: timedelta, state: str, subscription) -> Event:
    event = Event.objects.create(type="alert.opened", data={}, created_at=timezone.now() - age)
    EventDelivery.objects.create(event=event, subscription=subscription, state=state)
    return event


def test_old_events_and_their_deliveries_go_what_is_newer_or_unsent_stays(settings):
    settings.VOXDASH_API_RETENTION_DAYS = 30
    hook = Subscription.objects.create(name="CRM", url="http://127.0.0.1:9/", event_types=["alert.opened"])
    gone = [_event(timedelta(days=31), s, hook) for s in ("delivered", "failed")]
    kept = [_event(timedelta(days=29), "delivered", hook), _event(timedelta(days=31), "retrying", hook)]
    old_call = Call.objects.create(
        vox_id="call_old", direction="outbound", status="completed", customer_phone="+2348012345678",
        created_at=timezone.now() - timedelta(days=40),
    )  # fmt: skip
    CallSeen.objects.create(vox_id=old_call.vox_id, status="completed")
    CallSeen.objects.create(vox_id="call_new", status="completed")  # a call of today (not mirrored here)
    assert events_prune() == 2
    assert set(Event.objects.values_list("pk", flat=True)) == {e.pk for e in kept}
    assert not EventDelivery.objects.filter(event_id__in=[e.pk for e in gone]).exists()
    assert list(CallSeen.objects.values_list("vox_id", flat=True)) == ["call_new"]
    settings.VOXDASH_API_RETENTION_DAYS = 0
    assert events_prune(now=timezone.now() + timedelta(days=365)) == 0


def test_beat_prunes_both_nightly():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["prune-events"]["task"] == "voxdash.subscriptions.tasks.events_prune"
    assert schedule["prune-api-keys"]["task"] == "voxdash.api.tasks.idempotent_requests_prune"
