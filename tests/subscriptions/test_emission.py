"""What voxdash learns becomes events for the subscriptions that want them: a call's status
changes (from the webhooks, through the mirror), its recording, a campaign's progress, alerts."""

from datetime import timedelta

import pytest
import time_machine

from tests.webhooks.conftest import T0, at, call_data, event
from tests.webhooks.test_processing import apply
from voxdash.subscriptions.models import EVENT_TYPES, Event, EventDelivery, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed():
    return Subscription.objects.create(name="CRM", url="http://127.0.0.1:9/", event_types=list(EVENT_TYPES))


def events():
    return [
        (e.type, e.data.get("previous_status"), e.data.get("status")) for e in Event.objects.order_by("id")
    ]


def test_a_calls_webhooks_tell_each_status_change_and_the_recording_once(
    subscribed, django_capture_on_commit_callbacks
):
    rec = "https://sim.example/recordings/call_1.wav"
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        for payload in (
            event("vox.call.started", call_data(status="in_progress"), at=at(10)),
            event("vox.call.completed", call_data(status="completed", durationSeconds=42), at=at(52)),
            # the same news again (another event id): nothing new to tell
            event("vox.call.completed", call_data(status="completed", durationSeconds=42), at=at(52)),
            event("vox.recording.ready", call_data(status="completed", recordingUrl=rec), at=at(60)),
        ):
            with django_capture_on_commit_callbacks(execute=True):  # each write commits on its own
                apply(payload)
    assert events() == [
        ("call.status_changed", None, "in_progress"),
        ("call.status_changed", "in_progress", "completed"),
        ("call.recording_ready", "completed", "completed"),
    ]
    assert Event.objects.last().data["recording_url"] == rec
    assert EventDelivery.objects.count() == 3


def test_nothing_is_kept_when_nobody_subscribes(django_capture_on_commit_callbacks):
    Subscription.objects.create(name="alerts only", url="http://127.0.0.1:9/", event_types=["alert.opened"])
    with (
        time_machine.travel(T0 + timedelta(minutes=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        apply(event("vox.call.started", call_data(status="in_progress"), at=at(10)))
    assert Event.objects.count() == 0


def test_old_calls_a_sync_fills_in_are_not_news(subscribed, django_capture_on_commit_callbacks):
    with (
        time_machine.travel(T0 + timedelta(days=3), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        apply(event("vox.call.completed", call_data(status="completed"), at=at(52)))
    assert Event.objects.count() == 0


def test_a_campaigns_actions_are_told(subscribed, caller):
    from tests.campaigns.pages import make_campaign
    from voxdash.campaigns.models import CampaignEvent

    campaign = make_campaign(user=caller, name="November")
    Event.objects.all().delete()  # whatever making it told
    CampaignEvent.objects.create(campaign=campaign, action=CampaignEvent.Action.CREATED, username="cal")
    CampaignEvent.objects.create(campaign=campaign, action=CampaignEvent.Action.STARTED, username="cal")
    told = Event.objects.get()
    assert told.type == "campaign.progress"
    assert (
        told.data["action"] == "started"
        and told.data["campaign_id"] == campaign.pk
        and told.data["by"] == "cal"
    )


def test_an_alert_opening_and_resolving_are_told(subscribed):
    from django.utils import timezone

    from voxdash.alerts.models import Alert, AlertRule

    rule = AlertRule.objects.filter(builtin=True).first() or AlertRule.objects.create(
        name="r", kind="vox_unreachable"
    )
    alert = Alert.objects.create(rule=rule, opened_at=timezone.now(), summary="Vox is unreachable")
    alert.summary = "still"
    alert.save(update_fields=["summary"])  # a change that is not the end is not told
    alert.resolved_at = timezone.now()
    alert.save(update_fields=["resolved_at"])
    assert [e.type for e in Event.objects.order_by("id")] == ["alert.opened", "alert.resolved"]
    assert Event.objects.first().data["summary"] == "Vox is unreachable"


def test_a_change_whose_announcement_was_lost_is_told_by_the_sweep_once(
    subscribed, django_capture_on_commit_callbacks
):
    """The process died between the mirror's commit and `calls_mirrored` (its after-commit
    callbacks never ran): beat's sweep tells the change, once, and leaves fresh writes alone."""
    from voxdash.subscriptions.receivers import call_changes_sweep

    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        with django_capture_on_commit_callbacks(execute=False):  # lost with the process
            apply(event("vox.call.completed", call_data(status="completed"), at=at(52)))
    with time_machine.travel(T0 + timedelta(minutes=5, seconds=10), tick=False):
        assert call_changes_sweep() == 0  # within the grace: its announcement may be on its way
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        assert call_changes_sweep() == 1
        assert call_changes_sweep() == 0  # told: CallSeen has it
    assert events() == [("call.status_changed", None, "completed")]
    with time_machine.travel(T0 + timedelta(minutes=8), tick=False):
        with django_capture_on_commit_callbacks(execute=False):
            rec = "https://sim.example/recordings/call_1.wav"
            apply(event("vox.recording.ready", call_data(status="completed", recordingUrl=rec), at=at(60)))
    with time_machine.travel(T0 + timedelta(minutes=9), tick=False):
        assert call_changes_sweep() == 1
    assert events()[-1] == ("call.recording_ready", "completed", "completed")
    # Beat runs it.
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["sweep-call-events"]["task"] == (
        "voxdash.subscriptions.tasks.call_changes_sweep"
    )
