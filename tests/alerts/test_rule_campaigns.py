"""A campaign that paused itself (its circuit breaker), and one that finished: one alert per
campaign; the finish is announced once and never "resolved"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.campaigns.dispatching import Webhooks, campaign_ready, phone
from vox_simulator import keys
from voxdash.alerts.models import Alert, AlertRule
from voxdash.campaigns.models import Campaign
from voxdash.campaigns.running import CANCEL, PAUSE, RESUME, campaign_act, campaigns_dispatch

from .evaluating import evaluate, notices, open_alerts

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind


@pytest.fixture
def dispatching(vox_settings):
    from voxdash.vox import reset_client

    vox_settings.VOX_REQUESTS_PER_MINUTE = 0  # a campaign's dials are not the budget's test
    reset_client()
    yield vox_settings
    reset_client()


def test_a_campaign_that_paused_itself_fires_per_campaign_and_resolves_when_resumed(
    dispatching, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.CAMPAIGN_BREAKER, cooldown_minutes=60)
    first = campaign_ready(simulator, phones=[phone(1)], user=caller, name="December reminders")
    second = campaign_ready(simulator, phones=[phone(2)], user=caller, name="January reminders")
    simulator.add_key(keys.DEMO_KEY, refusal=keys.EXPIRED)  # the breaker pauses both
    campaigns_dispatch(now=timezone.now())
    assert set(Campaign.objects.values_list("state", flat=True)) == {Campaign.State.PAUSED}

    evaluate(rule)
    assert notices(rule) == ["fired", "fired"]
    alerts = {a.subject: a for a in open_alerts(rule)}
    assert set(alerts) == {str(first.pk), str(second.pk)}
    assert alerts[str(first.pk)].subject_label == "December reminders"
    assert alerts[str(first.pk)].summary.startswith("December reminders paused itself: Vox refused")
    assert alerts[str(first.pk)].link == f"/campaigns/{first.pk}/"

    clock.forward(59)
    evaluate(rule)
    assert notices(rule) == ["fired", "fired"]
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired", "fired", "reminder", "reminder"]

    simulator.add_key(keys.DEMO_KEY)
    campaign_act(campaign_id=first.pk, action=RESUME, user=caller)
    campaign_act(campaign_id=second.pk, action=CANCEL, user=caller)
    evaluate(rule)
    assert notices(rule)[4:] == ["resolved", "resolved"]
    assert open_alerts(rule) == []


def test_a_campaign_paused_by_a_person_is_not_an_alert(
    dispatching, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.CAMPAIGN_BREAKER)
    campaign = campaign_ready(simulator, phones=[phone(1)], user=caller)
    campaign_act(campaign_id=campaign.pk, action=PAUSE, user=caller)
    evaluate(rule)
    assert notices(rule) == []


def test_a_finished_campaign_is_announced_once_and_never_resolved(
    dispatching, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.CAMPAIGN_FINISHED, window_minutes=60, cooldown_minutes=0)
    campaign = campaign_ready(simulator, phones=[phone(1), phone(2, "failed")], user=caller)
    campaigns_dispatch(now=timezone.now())
    evaluate(rule)
    assert notices(rule) == []  # still running
    Webhooks(simulator).finish()
    campaigns_dispatch(now=timezone.now())
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.FINISHED

    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = Alert.objects.filter(rule=rule)
    assert alert.resolved_at is not None  # told, and over
    assert alert.summary.startswith("December reminders finished at ")
    assert alert.summary.endswith(": 1 of 2 rows completed.")
    for _ in range(3):
        clock.forward(20)
        evaluate(rule)
    assert notices(rule) == ["fired"]
    assert Alert.objects.filter(rule=rule).count() == 1


def test_campaigns_that_finished_before_the_window_are_not_announced(
    dispatching, simulator, caller, channel, only_rule, clock
):
    rule = only_rule(Kind.CAMPAIGN_FINISHED, window_minutes=60)
    campaign_ready(
        simulator,
        phones=[phone(1)],
        user=caller,
        state=Campaign.State.FINISHED,
        finished_at=timezone.now() - timedelta(minutes=61),
    )
    evaluate(rule)
    assert notices(rule) == []
