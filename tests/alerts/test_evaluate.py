"""The evaluation's state machine (voxdash.alerts.evaluate): a flapping condition stays quiet for
the cooldown, a rule turned off resolves silently, a check that fails or cannot tell leaves its
alerts alone and stops no other rule, and two evaluations at once say nothing twice.

The condition used is "webhooks refused" (threshold 0: any refusal in the window), made true by
posting forged deliveries to the real receiver and false by letting them age out of the window.
"""

import json
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from voxdash.alerts import checks
from voxdash.alerts.evaluate import alerts_evaluate
from voxdash.alerts.models import Alert, AlertRule
from voxdash.overview.connection import CACHE_KEY, LAST_KNOWN_KEY
from voxdash.vox import errors, get_client, reset_client

from .evaluating import evaluate, notices, open_alerts

Kind = AlertRule.Kind


def refused(n: int = 1) -> None:
    """A delivery signed with a secret voxdash does not have, posted to the receiver (400)."""
    for _ in range(n):
        response = Client().post(
            reverse("webhooks:vox"),
            json.dumps({"id": "evt_forged", "type": "vox.call.completed", "data": {}}),
            content_type="application/json",
            headers={"Cloove-Webhook-Id": "evt_forged", "Cloove-Signature": "t=1,v1=00"},
        )
        assert response.status_code == 400


@pytest.fixture
def refusals_rule(only_rule):
    """Fires on any refusal of the last 10 minutes; no more than one notice an hour."""
    return only_rule(Kind.WEBHOOKS_REFUSED, threshold=0, window_minutes=10, cooldown_minutes=60)


@pytest.mark.django_db
def test_a_flapping_condition_is_quiet_until_the_cooldown_has_passed(refusals_rule, channel, clock):
    rule = refusals_rule
    refused()
    evaluate(rule)
    assert notices(rule) == ["fired"]
    clock.forward(11)  # aged out
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved"]  # at +11

    clock.forward(1)
    refused()  # back at +12: within the hour since the last notice
    evaluate(rule)
    [quiet] = open_alerts(rule)
    assert notices(rule) == ["fired", "resolved"] and quiet.last_notified_at is None
    clock.forward(11)  # cleared again, never told: resolved silently
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved"] and Alert.objects.get(pk=quiet.pk).resolved_at is not None

    for _ in range(8):  # from +23 it holds on and on (a refusal every 5 minutes)...
        refused()
        evaluate(rule)
        clock.forward(5)
    assert notices(rule) == ["fired", "resolved"]  # +63: still cooling down
    refused()
    clock.forward(8)  # +71: an hour since the last notice
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved", "fired"]
    assert Alert.objects.filter(rule=rule).count() == 3
    clock.forward(11)
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved", "fired", "resolved"]


@pytest.mark.django_db
def test_a_run_that_starts_a_moment_early_still_reminds(refusals_rule, channel, clock):
    rule = refusals_rule
    rule.window_minutes = 120
    rule.save()
    refused()
    evaluate(rule)
    clock.forward(59)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    clock.forward(0.9)  # beat's next run, six seconds early
    evaluate(rule)
    assert notices(rule) == ["fired", "reminder"]


@pytest.mark.django_db
def test_cooldown_zero_never_reminds_and_never_holds_back(refusals_rule, channel, clock):
    rule = refusals_rule
    rule.cooldown_minutes = 0
    rule.save()
    refused()
    evaluate(rule)
    clock.forward(9)
    refused()
    evaluate(rule)
    assert notices(rule) == ["fired"]
    clock.forward(11)
    evaluate(rule)
    refused()
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved", "fired"]


@pytest.mark.django_db
def test_a_rule_turned_off_resolves_its_alerts_silently_and_is_not_checked(refusals_rule, channel, clock):
    rule = refusals_rule
    refused()
    evaluate(rule)
    assert notices(rule) == ["fired"]
    AlertRule.objects.filter(pk=rule.pk).update(enabled=False)
    checked_at = rule.last_evaluated_at
    clock.forward(1)
    summary = alerts_evaluate()
    rule.refresh_from_db()
    assert open_alerts(rule) == [] and notices(rule) == ["fired"]
    assert (summary.rules, summary.resolved, summary.notices) == (0, 1, 0)
    assert rule.last_evaluated_at == checked_at
    AlertRule.objects.filter(pk=rule.pk).update(enabled=True)
    clock.forward(1)
    evaluate(rule)  # still refused: a new alert, opened quietly (the last notice is not an hour old)
    assert len(open_alerts(rule)) == 1 and notices(rule) == ["fired"]


@pytest.mark.django_db
def test_a_failing_check_is_recorded_keeps_its_alerts_and_stops_no_other_rule(
    refusals_rule, only_rule, channel, clock, monkeypatch
):
    broken = AlertRule.objects.get(kind=Kind.SYNC_STALE)
    broken.enabled = True
    broken.save()
    now = timezone.now()
    held = Alert.objects.create(rule=broken, opened_at=now, summary="Stale", notices=1, last_notified_at=now)

    def check(rule, now):
        raise RuntimeError("the mirror's table is gone")

    kind = checks.KINDS[Kind.SYNC_STALE]
    monkeypatch.setitem(checks.KINDS, Kind.SYNC_STALE, kind._replace(check=check))
    refused()
    summary = alerts_evaluate()
    assert summary.failed == [broken.name]
    broken.refresh_from_db()
    assert broken.last_error == "RuntimeError: the mirror's table is gone"
    assert Alert.objects.get(pk=held.pk).resolved_at is None  # cannot tell: not resolved
    assert notices(refusals_rule) == ["fired"]  # the other rule went on

    monkeypatch.setitem(checks.KINDS, Kind.SYNC_STALE, kind)
    clock.forward(1)
    alerts_evaluate()
    broken.refresh_from_db()
    assert broken.last_error == ""


@pytest.mark.django_db
def test_a_check_that_cannot_tell_leaves_its_alerts_as_they_are(
    vox_settings, simulator, only_rule, channel, clock
):
    vox_settings.VOX_MAX_RETRIES = 0
    vox_settings.VOX_REQUESTS_PER_MINUTE = 5
    reset_client()
    rule = only_rule(Kind.VOX_UNREACHABLE, window_minutes=1)
    simulator.faults.error_rate = 1.0
    evaluate(rule)
    clock.forward(1)
    evaluate(rule)
    assert notices(rule) == ["fired"]
    since = rule.condition_since

    simulator.faults.clear()
    clock.forward(11)  # the last answer Vox gave is forgotten, the budget's window has passed
    with pytest.raises(errors.VoxBudgetExhausted):
        while True:
            get_client().budget.acquire()  # pages spend this minute's budget
    assert cache.get(CACHE_KEY) is None and cache.get(LAST_KNOWN_KEY) is None
    rule = evaluate(rule)
    assert notices(rule) == ["fired"] and len(open_alerts(rule)) == 1  # no check sent: no news
    assert rule.condition_since == since and rule.last_error == ""

    clock.forward(2)
    evaluate(rule)
    assert notices(rule) == ["fired", "resolved"]
    reset_client()


# --- two evaluations at once (threads, each with its own database connection)
def evaluate_at_once(monkeypatch, kind: str) -> list[BaseException]:
    """Two evaluations whose checks both finish before either records anything (as two beats
    that overlap); the errors they raised, if any."""
    both_checked = threading.Barrier(2)
    original = checks.KINDS[kind]

    def check(rule, now):
        findings = original.check(rule, now)
        both_checked.wait(timeout=10)
        return findings

    monkeypatch.setitem(checks.KINDS, kind, original._replace(check=check))
    raised: list[BaseException] = []

    def run():
        try:
            alerts_evaluate()
        except BaseException as exc:
            raised.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    monkeypatch.setitem(checks.KINDS, kind, original)
    return raised


@pytest.mark.django_db(transaction=True)
def test_two_evaluations_at_once_fire_once_and_remind_once(refusals_rule, channel, clock, monkeypatch):
    rule = refusals_rule
    rule.window_minutes = 120
    rule.save()
    refused()
    assert evaluate_at_once(monkeypatch, Kind.WEBHOOKS_REFUSED) == []
    assert notices(rule) == ["fired"]
    assert Alert.objects.filter(rule=rule).count() == 1

    clock.forward(60)
    assert evaluate_at_once(monkeypatch, Kind.WEBHOOKS_REFUSED) == []
    assert notices(rule) == ["fired", "reminder"]
