"""/alerts/rules/<pk>/ (edit), /alerts/rules/new/ (a second rule of a kind) and delete: staff only,
validated by the form (bad input keeps what was typed), every create/change/delete audited."""

import re
import string

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils.html import escape

from voxdash.alerts import selectors
from voxdash.alerts.checks import KINDS
from voxdash.alerts.models import AlertChannel, AlertRule
from voxdash.audit.models import AuditEntry
from voxdash.lib.widgets import fits

Action = AuditEntry.Action
NEW = reverse("alerts:rule_new")


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """The header asks Vox who it is on every page: the simulator answers."""


@pytest.fixture
def staff_user(db):
    return User.objects.create_user("stan", password="pw-stan-123", is_staff=True)


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def failure_rate(db) -> AlertRule:
    return AlertRule.objects.get(kind="failure_rate", builtin=True)


@pytest.fixture
def ops(db) -> AlertChannel:
    return AlertChannel.objects.create(
        name="Ops Slack", kind="apprise", url="slack://a/b/c", every_rule=False
    )


def url(rule: AlertRule) -> str:
    return reverse("alerts:rule", kwargs={"pk": rule.pk})


def post_data(rule: AlertRule, **changes) -> dict:
    data = {
        "name": rule.name,
        "enabled": "on" if rule.enabled else "",
        "threshold": rule.threshold,
        "window_minutes": rule.window_minutes,
        "cooldown_minutes": rule.cooldown_minutes,
        "channels": [c.pk for c in rule.channels.all()],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def rule_entries() -> list[AuditEntry]:
    """The rule actions recorded (signing in is recorded too, and is not what these tests are about)."""
    return list(AuditEntry.objects.filter(action__startswith="alert_rule"))


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


# --- who may


@pytest.mark.parametrize("who", ["viewer", "caller"])
def test_only_staff_may_see_or_change_rules(request, client, failure_rate, who):
    client.force_login(request.getfixturevalue(who))
    for target in (
        url(failure_rate),
        NEW,
        f"{NEW}?kind=failure_rate",
        reverse("alerts:rule_delete", args=[failure_rate.pk]),
    ):
        assert client.get(target).status_code == 403
        assert client.post(target, post_data(failure_rate, threshold=99)).status_code == 403
    failure_rate.refresh_from_db()
    assert failure_rate.threshold == 30 and AlertRule.objects.count() == 12
    assert not rule_entries()


def test_an_unknown_rule_is_404(staff):
    assert staff.get(reverse("alerts:rule", args=[999_999])).status_code == 404


# --- editing


def test_the_form_shows_the_rule_and_its_kinds_meaning(staff, failure_rate):
    body = staff.get(url(failure_rate)).content.decode()
    assert KINDS["failure_rate"].description in body
    assert "More than 30% of the last 60 minutes&#x27; ended calls failed" in body
    assert 'name="threshold" value="30"' in body and 'name="window_minutes" value="60"' in body
    assert "Threshold (%)" in body and "A percentage from 1 to 100." in body
    assert "calls that ended in the last … minutes" in body  # what the window is, for this kind
    assert "Delete…" not in body  # built in: turned off instead


def test_a_change_is_saved_and_audited_with_what_changed(staff, staff_user, failure_rate, ops):
    response = staff.post(
        url(failure_rate),
        post_data(failure_rate, threshold=45, cooldown_minutes=30, enabled="", channels=[ops.pk]),
    )
    assert response.status_code == 302 and response["Location"] == reverse("alerts:index") + "#rules"
    failure_rate.refresh_from_db()
    assert (failure_rate.threshold, failure_rate.cooldown_minutes, failure_rate.enabled) == (45, 30, False)
    assert list(failure_rate.channels.all()) == [ops]
    [entry] = entries(Action.ALERT_RULE_CHANGED)
    assert entry.user == staff_user and entry.via == "web" and entry.remote_addr == "127.0.0.1"
    assert (entry.object_type, entry.object_id, entry.object_label) == (
        "alert rule",
        str(failure_rate.pk),
        "Failed calls",
    )
    assert entry.object_url == url(failure_rate)
    assert entry.detail == {
        "changed": {
            "enabled": [True, False],
            "threshold": [30, 45],
            "cooldown_minutes": [60, 30],
            "channels": [[], ["Ops Slack"]],
        }
    }
    page = staff.get(response["Location"]).content.decode()
    assert "Saved “Failed calls”: on, threshold (%), cooldown (minutes), also notify changed." in page


def test_saving_without_a_change_records_nothing(staff, failure_rate):
    response = staff.post(url(failure_rate), post_data(failure_rate))
    assert response.status_code == 302
    assert not entries(Action.ALERT_RULE_CHANGED)
    assert "Nothing changed in “Failed calls”." in staff.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    "field, typed, message",
    [
        ("threshold", "0", "Enter a whole percentage from 1 to 100."),
        ("threshold", "101", "Enter a whole percentage from 1 to 100."),
        ("threshold", "thirty", "Enter a whole percentage from 1 to 100."),
        ("window_minutes", "0", "Enter a whole number of minutes from 1 to 10,080."),
        ("window_minutes", "2.5", "Enter a whole number of minutes from 1 to 10,080."),
        ("cooldown_minutes", "-1", "Enter a whole number of minutes from 0 to 43,200."),
        ("name", "", "This field is required."),
    ],
)
def test_bad_input_keeps_what_was_typed_with_a_clear_message(staff, failure_rate, field, typed, message):
    data = post_data(failure_rate, **{"name": "Stricter", field: typed})
    if typed == "":
        data.pop(field, None)
    response = staff.post(url(failure_rate), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was saved." in body and message in body
    errors = re.search(rf'<div class="form-row errors field-{field}">.*?</ul>', body, re.S)
    assert errors and message in errors[0]
    if typed:
        # What was typed stays, where the input can hold it: a number input cannot hold "thirty"
        # (invalid HTML, and a browser would show it empty), so the message alone says what was wrong.
        assert (f'value="{typed}"' in body) == fits("number", typed)
        assert 'value="Stricter"' in body
    failure_rate.refresh_from_db()
    assert failure_rate.name == "Failed calls" and failure_rate.threshold == 30
    assert not rule_entries()


def test_a_count_threshold_is_at_least_one_and_unused_fields_are_not_on_the_form(staff):
    refused = AlertRule.objects.get(kind="webhooks_refused")
    body = staff.post(url(refused), post_data(refused, threshold="0")).content.decode()
    assert "Enter a whole number of refusals from 1 to 1,000,000." in body
    breaker = AlertRule.objects.get(kind="campaign_breaker")  # uses neither threshold nor window
    body = staff.get(url(breaker)).content.decode()
    assert 'name="threshold"' not in body and 'name="window_minutes"' not in body
    response = staff.post(
        url(breaker), {**post_data(breaker, cooldown_minutes=15), "threshold": "5000", "window_minutes": "0"}
    )
    assert response.status_code == 302
    breaker.refresh_from_db()
    assert (breaker.threshold, breaker.window_minutes, breaker.cooldown_minutes) == (0, 0, 15)
    [entry] = entries(Action.ALERT_RULE_CHANGED)
    assert entry.detail == {"changed": {"cooldown_minutes": [60, 15]}}


# --- a new rule


def test_a_new_rule_starts_with_choosing_its_kind(staff):
    body = staff.get(NEW).content.decode()
    for kind, label in AlertRule.Kind.choices:
        assert f'href="?kind={kind}">{label}</a>' in body
        assert escape(KINDS[kind].description) in body
    body = staff.get(NEW, {"kind": "nonsense"}).content.decode()
    assert "That is not a kind of rule voxdash knows" in body and 'href="?kind=failure_rate"' in body


def test_a_second_rule_of_a_kind_is_created_and_audited(staff, staff_user, ops):
    body = staff.get(NEW, {"kind": "failure_rate"}).content.decode()
    assert "New rule: Failed calls" in body and 'value="Failed calls (2)"' in body and 'value="30"' in body
    assert f'action="{NEW}?kind=failure_rate"' in body
    data = {
        "name": "Failed calls, on call",
        "enabled": "on",
        "threshold": "15",
        "window_minutes": "30",
        "cooldown_minutes": "20",
        "channels": [ops.pk],
    }
    response = staff.post(f"{NEW}?kind=failure_rate", data)
    assert response.status_code == 302
    rule = AlertRule.objects.get(name="Failed calls, on call")
    assert (rule.kind, rule.builtin, rule.threshold, rule.window_minutes, rule.cooldown_minutes) == (
        "failure_rate",
        False,
        15,
        30,
        20,
    )
    assert list(rule.channels.all()) == [ops]
    [entry] = entries(Action.ALERT_RULE_CREATED)
    assert entry.user == staff_user and entry.object_id == str(rule.pk) and entry.object_label == rule.name
    assert entry.detail["changed"]["kind"] == [None, "failure_rate"]
    assert entry.detail["changed"]["threshold"] == [None, 15]
    assert entry.detail["changed"]["channels"] == [None, ["Ops Slack"]]
    assert "Added the rule “Failed calls, on call”." in staff.get(response["Location"]).content.decode()


def test_a_new_rule_with_bad_input_is_not_created(staff):
    data = {
        "name": "Too strict",
        "enabled": "on",
        "threshold": "150",
        "window_minutes": "30",
        "cooldown_minutes": "20",
    }
    response = staff.post(f"{NEW}?kind=failure_rate", data)
    assert (
        response.status_code == 200 and "Enter a whole percentage from 1 to 100." in response.content.decode()
    )
    assert 'value="150"' in response.content.decode() and 'value="Too strict"' in response.content.decode()
    assert not AlertRule.objects.filter(name="Too strict").exists() and not rule_entries()


# --- deleting


def test_a_built_in_rule_is_not_deleted(staff, failure_rate):
    target = reverse("alerts:rule_delete", args=[failure_rate.pk])
    response = staff.post(target)
    assert response.status_code == 302 and response["Location"] == url(failure_rate)
    assert AlertRule.objects.filter(pk=failure_rate.pk).exists()
    assert "turn it off instead of deleting it" in staff.get(response["Location"]).content.decode()
    assert not entries(Action.ALERT_RULE_DELETED)


def test_a_rule_of_ones_own_is_deleted_after_a_confirmation_and_audited(staff, staff_user):
    rule = AlertRule.objects.create(kind="failure_rate", name="Mine", threshold=10)
    page = staff.get(url(rule)).content.decode()
    target = reverse("alerts:rule_delete", args=[rule.pk])
    assert f'href="{target}"' in page
    confirm = staff.get(target).content.decode()
    assert "Delete this rule?" in confirm and "Yes, delete it" in confirm
    assert AlertRule.objects.filter(pk=rule.pk).exists()  # a GET deletes nothing
    response = staff.post(target)
    assert response.status_code == 302 and not AlertRule.objects.filter(pk=rule.pk).exists()
    [entry] = entries(Action.ALERT_RULE_DELETED)
    assert entry.user == staff_user and (entry.object_id, entry.object_label) == (str(rule.pk), "Mine")
    assert entry.detail["kind"] == "failure_rate" and entry.detail["changed"]["threshold"] == [10, None]
    assert "Deleted the rule “Mine”" in staff.get(response["Location"]).content.decode()


# --- the wording holds together with checks.KINDS


@pytest.mark.parametrize("kind", AlertRule.Kind.values)
def test_each_kinds_sentence_names_exactly_the_numbers_the_kind_uses(kind):
    fields = {name for _, name, _, _ in string.Formatter().parse(selectors.CONDITIONS[kind]) if name}
    uses_window = KINDS[kind].window is not None
    assert ("threshold" in fields) == (KINDS[kind].threshold is not None)
    assert bool(fields & {"window", "windows"}) == uses_window
    rule = AlertRule(kind=kind, threshold=7, window_minutes=1)
    text = selectors.condition_text(rule)
    assert "{" not in text and ("1 minute" in text) == uses_window


def test_a_new_rule_of_a_kind_without_a_window_keeps_the_built_ins(staff):
    data = {"name": "Breaker, on call", "enabled": "on", "cooldown_minutes": "10"}
    assert staff.post(f"{NEW}?kind=campaign_breaker", data).status_code == 302
    rule = AlertRule.objects.get(name="Breaker, on call")
    assert (rule.threshold, rule.window_minutes, rule.cooldown_minutes) == (0, 0, 10)


def test_the_budget_rules_window_is_at_most_the_day_its_refusals_are_kept(staff):
    budget = AlertRule.objects.get(kind="budget_exhausted")
    body = staff.post(url(budget), post_data(budget, window_minutes="2000")).content.decode()
    assert "Nothing was saved." in body and "Enter a whole number of minutes from 1 to 1,440." in body
    budget.refresh_from_db()
    assert budget.window_minutes == 5
    assert staff.post(url(budget), post_data(budget, window_minutes="1440")).status_code == 302


def test_two_rules_may_not_share_a_name_and_a_new_one_gets_a_free_one(staff):
    body = staff.get(NEW + "?kind=failure_rate").content.decode()
    assert 'value="Failed calls (2)"' in body
    AlertRule.objects.create(kind="failure_rate", name="Failed calls (2)")
    assert 'value="Failed calls (3)"' in staff.get(NEW + "?kind=failure_rate").content.decode()
    failed = AlertRule.objects.get(kind="failure_rate", builtin=True)
    body = staff.post(url(failed), post_data(failed, name="failed calls (2)")).content.decode()
    assert "Another rule has this name" in body
    assert staff.post(url(failed), post_data(failed, name="Failed calls")).status_code == 302  # its own


def test_an_event_rule_has_no_cooldown_to_set(staff):
    finished = AlertRule.objects.get(kind="campaign_finished")
    body = staff.get(url(finished)).content.decode()
    assert 'name="cooldown_minutes"' not in body and 'name="window_minutes"' in body
