"""The mirror's sync stale or failing: no complete walk of the call history for the window, with
the last run's error when there is one."""

import pytest
from django.utils import timezone

from voxdash.alerts.models import AlertRule
from voxdash.calls.models import SyncState
from voxdash.calls.sync import calls_sync
from voxdash.vox import errors, reset_client

from .evaluating import evaluate, notices, open_alerts

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_retries(vox_settings):
    vox_settings.VOX_MAX_RETRIES = 0
    reset_client()
    yield vox_settings
    reset_client()


def test_a_sync_failing_for_fifteen_minutes_fires_with_its_error_and_resolves_when_one_completes(
    no_retries, simulator, channel, only_rule, clock
):
    rule = only_rule(AlertRule.Kind.SYNC_STALE, window_minutes=15, cooldown_minutes=60)
    calls_sync(full=True)
    simulator.faults.error_rate = 1.0  # Vox answers 5xx from now on
    for _ in range(14):
        clock.forward(1)
        with pytest.raises(errors.VoxError):
            calls_sync()  # beat's run of every minute
        evaluate(rule)
    assert notices(rule) == []
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    [alert] = open_alerts(rule)
    error = SyncState.objects.get(name="calls").last_error
    assert error and alert.summary.endswith(f"The last run failed: {error}")
    assert alert.summary.startswith("The call history's sync has not completed for 15 minutes (last at ")
    assert alert.value == 15

    clock.forward(59)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder"]

    simulator.faults.clear()
    calls_sync()
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder", "resolved"]


def test_a_sync_that_never_completed_is_stale_once_voxdash_has_run_that_long(
    vox_settings, channel, only_rule, clock
):
    rule = only_rule(AlertRule.Kind.SYNC_STALE, window_minutes=15)
    AlertRule.objects.filter(pk=rule.pk).update(created_at=timezone.now())  # just installed
    clock.forward(14)
    evaluate(rule)
    assert notices(rule) == []
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    assert open_alerts(rule)[0].summary == "The call history's sync has never completed."
