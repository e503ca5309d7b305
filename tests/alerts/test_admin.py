"""The admin: rules (channels side by side) and channels are edited there, each change audited with
via "admin"; a channel's URL is never sent back to the browser; rows from VOXDASH_ALERT_URLS are
read-only; alerts and deliveries cannot be added, changed or deleted."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from voxdash.alerts.models import Alert, AlertChannel, AlertDelivery, AlertRule
from voxdash.audit.models import AuditEntry

Action = AuditEntry.Action
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOKEN = "xoxb-SECRET-token-0000"


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """Pages ask Vox who it is: the simulator answers."""


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", password="pw-root-123")


@pytest.fixture
def admin(client, root):
    client.force_login(root)
    return client


def change_url(obj) -> str:
    return reverse(f"admin:alerts_{obj._meta.model_name}_change", args=[obj.pk])


def entries(prefix: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action__startswith=prefix).order_by("id"))


def rule_form(rule: AlertRule, **changes) -> dict:
    data = {
        "name": rule.name,
        "enabled": "on" if rule.enabled else "",
        "threshold": rule.threshold,
        "window_minutes": rule.window_minutes,
        "cooldown_minutes": rule.cooldown_minutes,
        "channels": [c.pk for c in rule.channels.all()],
        "_save": "Save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


@pytest.fixture
def slack(db) -> AlertChannel:
    return AlertChannel.objects.create(
        name="Ops Slack", kind="apprise", url=f"slack://{TOKEN}/#ops", every_rule=False
    )


# --- rules


def test_the_rule_form_puts_channels_side_by_side(admin, slack):
    rule = AlertRule.objects.get(kind="failure_rate")
    body = admin.get(change_url(rule)).content.decode()
    assert 'class="selectfilter"' in body or "SelectFilter" in body  # filter_horizontal's widget
    assert 'name="kind"' not in body  # the kind is what the rule is: fixed once made


def test_changing_a_rule_in_the_admin_is_audited_with_its_channels(admin, root, slack):
    rule = AlertRule.objects.get(kind="failure_rate")
    response = admin.post(change_url(rule), rule_form(rule, threshold=50, channels=[slack.pk]))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.threshold == 50 and list(rule.channels.all()) == [slack]
    [entry] = entries("alert_rule")
    assert entry.action == Action.ALERT_RULE_CHANGED and entry.via == "admin" and entry.user == root
    assert entry.object_id == str(rule.pk) and entry.object_label == "Failed calls"
    assert entry.detail == {"changed": {"threshold": [30, 50], "channels": [[], ["Ops Slack"]]}}


def test_the_admin_refuses_a_percentage_over_100(admin):
    rule = AlertRule.objects.get(kind="failure_rate")
    response = admin.post(change_url(rule), rule_form(rule, threshold=150))
    assert response.status_code == 200 and "from 1 to 100" in response.content.decode()
    rule.refresh_from_db()
    assert rule.threshold == 30 and not entries("alert_rule")


def test_adding_a_rule_in_the_admin_is_audited(admin):
    data = {
        "kind": "webhooks_refused",
        "name": "Refusals, strict",
        "enabled": "on",
        "threshold": 2,
        "window_minutes": 15,
        "cooldown_minutes": 30,
        "_save": "Save",
    }
    assert admin.post(reverse("admin:alerts_alertrule_add"), data).status_code == 302
    rule = AlertRule.objects.get(name="Refusals, strict")
    assert not rule.builtin
    [entry] = entries("alert_rule")
    assert entry.action == Action.ALERT_RULE_CREATED and entry.via == "admin"
    assert entry.detail["changed"]["kind"] == [None, "webhooks_refused"] and entry.object_id == str(rule.pk)


def test_deleting_a_rule_in_the_admin_is_audited_and_built_in_ones_cannot_be(admin):
    mine = AlertRule.objects.create(kind="failure_rate", name="Mine")
    builtin = AlertRule.objects.get(kind="failure_rate", builtin=True)
    delete = reverse("admin:alerts_alertrule_delete", args=[builtin.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    assert (
        admin.post(reverse("admin:alerts_alertrule_delete", args=[mine.pk]), {"post": "yes"}).status_code
        == 302
    )
    assert (
        not AlertRule.objects.filter(pk=mine.pk).exists() and AlertRule.objects.filter(pk=builtin.pk).exists()
    )
    [entry] = entries("alert_rule")
    assert entry.action == Action.ALERT_RULE_DELETED and entry.via == "admin" and entry.object_label == "Mine"


def test_the_bulk_delete_audits_each_rule_and_refuses_a_selection_with_a_built_in_one(admin):
    mine = [AlertRule.objects.create(kind="sync_stale", name=f"Mine {n}") for n in range(3)]
    builtin = AlertRule.objects.get(kind="sync_stale", builtin=True)
    changelist = reverse("admin:alerts_alertrule_changelist")
    data = {"action": "delete_selected", "_selected_action": [builtin.pk, mine[0].pk], "post": "yes"}
    assert admin.post(changelist, data).status_code == 403  # the admin's own check, per object
    assert AlertRule.objects.filter(pk__in=[builtin.pk, mine[0].pk]).count() == 2 and not entries(
        "alert_rule"
    )
    data = {"action": "delete_selected", "_selected_action": [r.pk for r in mine[:2]], "post": "yes"}
    assert admin.post(changelist, data).status_code == 302
    assert list(AlertRule.objects.filter(name__startswith="Mine")) == [mine[2]]
    assert sorted(e.object_label for e in entries("alert_rule")) == ["Mine 0", "Mine 1"]
    assert {e.action for e in entries("alert_rule")} == {Action.ALERT_RULE_DELETED}


def test_restoring_voxdashs_rules_makes_a_missing_one_again(admin):
    AlertRule.objects.filter(kind="budget_exhausted").delete()  # gone by hand, in the shell
    any_rule = AlertRule.objects.first()
    data = {"action": "restore_builtin_rules", "_selected_action": [any_rule.pk]}
    response = admin.post(reverse("admin:alerts_alertrule_changelist"), data, follow=True)
    assert "Restored: Request budget exhausted." in response.content.decode()
    restored = AlertRule.objects.get(kind="budget_exhausted")
    assert restored.builtin and (restored.window_minutes, restored.cooldown_minutes) == (5, 60)
    [entry] = entries("alert_rule")
    assert entry.action == Action.ALERT_RULE_CREATED and entry.object_id == str(restored.pk)


# --- channels


def test_adding_a_channel_is_audited_without_its_url(admin, root):
    data = {
        "name": "Ops Slack",
        "kind": "apprise",
        "url": f"slack://{TOKEN}/#ops",
        "every_rule": "on",
        "enabled": "on",
    }
    assert admin.post(reverse("admin:alerts_alertchannel_add"), data).status_code == 302
    channel = AlertChannel.objects.get(name="Ops Slack")
    assert channel.url == f"slack://{TOKEN}/#ops" and channel.signing_secret.startswith("whsec_")
    [entry] = entries("alert_channel")
    assert entry.action == Action.ALERT_CHANNEL_CREATED and entry.via == "admin" and entry.user == root
    assert entry.detail["changed"]["url"] == [None, "•••"] and entry.detail["changed"]["kind"] == [
        None,
        "apprise",
    ]
    assert TOKEN not in str(entry.detail)


def test_the_url_is_never_sent_back_and_a_blank_one_keeps_the_stored_url(admin, slack):
    body = admin.get(change_url(slack)).content.decode()
    assert TOKEN not in body and 'type="password"' in body
    assert slack.signing_secret in body  # shown, for the receiver's verification
    data = {"name": "Ops Slack (night)", "kind": "apprise", "url": "", "enabled": "on", "_save": "Save"}
    assert admin.post(change_url(slack), data).status_code == 302
    slack.refresh_from_db()
    assert slack.url == f"slack://{TOKEN}/#ops" and slack.name == "Ops Slack (night)" and not slack.every_rule
    [entry] = entries("alert_channel")
    assert entry.action == Action.ALERT_CHANNEL_CHANGED
    assert entry.detail == {"changed": {"name": ["Ops Slack", "Ops Slack (night)"]}}


def test_a_new_url_is_audited_as_changed_without_either_value(admin, slack):
    data = {
        "name": "Ops Slack",
        "kind": "apprise",
        "url": "slack://new/secret/x",
        "enabled": "on",
        "_save": "Save",
    }
    assert admin.post(change_url(slack), data).status_code == 302
    slack.refresh_from_db()
    assert slack.url == "slack://new/secret/x"
    [entry] = entries("alert_channel")
    assert entry.detail == {"changed": {"url": ["•••", "•••"]}}


@pytest.mark.parametrize(
    "kind, url, message",
    [
        (
            "webhook",
            "slack://a/b/c",
            "This URL cannot be used for this kind: it is a URL for “Notification service",
        ),
        ("file", "file://relative.log", "three slashes"),
        ("apprise", "https://example.com/hook", "it is a URL for “Signed JSON webhook”"),
        ("apprise", "not a url", "not a URL (it has no scheme://)"),
        ("apprise", "", "Enter the channel"),
    ],
)
def test_a_url_that_does_not_fit_the_kind_is_refused(admin, kind, url, message):
    data = {"name": "Bad", "kind": kind, "url": url, "enabled": "on"}
    response = admin.post(reverse("admin:alerts_alertchannel_add"), data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not AlertChannel.objects.filter(name="Bad").exists() and not entries("alert_channel")


def test_deleting_a_channel_is_audited(admin, slack):
    assert (
        admin.post(reverse("admin:alerts_alertchannel_delete", args=[slack.pk]), {"post": "yes"}).status_code
        == 302
    )
    assert not AlertChannel.objects.filter(pk=slack.pk).exists()
    [entry] = entries("alert_channel")
    assert (
        entry.action == Action.ALERT_CHANNEL_DELETED
        and entry.object_label == "Ops Slack"
        and entry.via == "admin"
    )


def test_a_channel_from_the_environment_is_read_only(admin, settings):
    settings.VOXDASH_ALERT_URLS = [f"slack://{TOKEN}/#ops"]
    channel = AlertChannel.objects.create(
        name="Environment 1 (Slack)", kind="apprise", from_environment=True, environment_index=0
    )
    body = admin.get(change_url(channel)).content.decode()
    assert 'name="url"' not in body and 'name="name"' not in body and TOKEN not in body
    data = {
        "name": "Renamed",
        "kind": "webhook",
        "url": "https://example.com/",
        "enabled": "",
        "_save": "Save",
    }
    admin.post(change_url(channel), data)
    channel.refresh_from_db()
    assert (channel.name, channel.kind, channel.url, channel.enabled) == (
        "Environment 1 (Slack)",
        "apprise",
        "",
        True,
    )
    assert (
        admin.post(
            reverse("admin:alerts_alertchannel_delete", args=[channel.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AlertChannel.objects.filter(pk=channel.pk).exists()


def test_the_channel_list_shows_urls_masked(admin, slack):
    body = admin.get(reverse("admin:alerts_alertchannel_changelist")).content.decode()
    assert "Ops Slack" in body and TOKEN not in body


# --- the record of what happened


def test_alerts_and_deliveries_cannot_be_added_changed_or_deleted(admin, slack):
    rule = AlertRule.objects.get(kind="failure_rate")
    alert = Alert.objects.create(rule=rule, opened_at=T0, summary="42% failed")
    delivery = AlertDelivery.objects.create(
        alert=alert, channel=slack, channel_name=slack.name, notice="fired", title="t", body="b",
        created_at=T0, next_attempt_at=T0, state="delivered",
    )  # fmt: skip
    for obj in (alert, delivery):
        name = obj._meta.model_name
        assert admin.get(reverse(f"admin:alerts_{name}_add")).status_code == 403
        assert admin.get(change_url(obj)).status_code == 200  # viewable
        admin.post(change_url(obj), {"summary": "changed", "state": "gave_up", "_save": "Save"})
        assert (
            admin.post(reverse(f"admin:alerts_{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code
            == 403
        )
    alert.refresh_from_db()
    delivery.refresh_from_db()
    assert alert.summary == "42% failed" and delivery.state == "delivered"
    body = admin.get(change_url(alert)).content.decode()
    assert "Ops Slack" in body  # its deliveries, inline
