"""VOXDASH_ALERT_URLS: one channel row per URL, its URL (and secrets) left in the environment."""

import logging

from tests.alerts.delivering import make_alert, notify
from voxdash.alerts.environment import alert_channels_sync_environment
from voxdash.alerts.models import AlertChannel, AlertDelivery
from voxdash.alerts.notify import alert_deliveries_send, masked_url

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#alerts"


def env_rows():
    return list(AlertChannel.objects.filter(from_environment=True).order_by("environment_index"))


def test_each_url_is_a_row_named_by_its_position_and_service(db, settings, tmp_path):
    settings.VOXDASH_ALERT_URLS = [SLACK, "https://hooks.example.com/voxdash", f"file://{tmp_path}/a.log"]
    alert_channels_sync_environment()
    rows = env_rows()
    assert [(r.name, r.kind, r.environment_index) for r in rows] == [
        ("Environment 1 (Slack)", "apprise", 0),
        ("Environment 2 (webhook)", "webhook", 1),
        ("Environment 3 (file)", "file", 2),
    ]
    assert all(r.url == "" and r.every_rule and r.enabled for r in rows)  # secrets stay outside
    assert masked_url(rows[0]) == "slack://•••/•••/•••/#alerts"


def test_syncing_again_changes_nothing_and_costs_one_query(db, settings, django_assert_num_queries):
    settings.VOXDASH_ALERT_URLS = [SLACK]
    alert_channels_sync_environment()
    before = [(r.pk, r.name) for r in env_rows()]
    with django_assert_num_queries(1):
        alert_channels_sync_environment()
    assert [(r.pk, r.name) for r in env_rows()] == before


def test_a_url_that_leaves_the_setting_is_disabled_with_its_history(db, settings, tmp_path):
    settings.VOXDASH_ALERT_URLS = [f"file://{tmp_path}/a.log", f"file://{tmp_path}/b.log"]
    AlertChannel.objects.update(enabled=False)
    notify(make_alert())
    alert_deliveries_send()
    assert AlertDelivery.objects.filter(state="delivered").count() == 2

    settings.VOXDASH_ALERT_URLS = [f"file://{tmp_path}/a.log"]
    alert_channels_sync_environment()
    first, second = env_rows()
    assert first.enabled and not second.enabled
    assert second.deliveries.count() == 1  # kept
    assert masked_url(second) == "(its URL is no longer in VOXDASH_ALERT_URLS)"

    # Back in the setting: the same row again, on.
    settings.VOXDASH_ALERT_URLS = [f"file://{tmp_path}/a.log", "https://hooks.example.com/x"]
    alert_channels_sync_environment()
    again = env_rows()
    assert [r.pk for r in again] == [first.pk, second.pk]
    assert again[1].enabled and again[1].kind == "webhook" and again[1].name == "Environment 2 (webhook)"


def test_a_url_apprise_does_not_know_is_refused_with_a_clear_line_once(db, settings, caplog):
    settings.VOXDASH_ALERT_URLS = ["nosuchservice://user:hunter2-password@host/token123abc", SLACK]
    with caplog.at_level(logging.ERROR, logger="voxdash.alerts"):
        alert_channels_sync_environment()
        alert_channels_sync_environment()
    [row] = env_rows()
    assert row.name == "Environment 2 (Slack)"
    [record] = [r for r in caplog.records if r.name == "voxdash.alerts"]
    message = record.getMessage()
    assert message.startswith(
        "VOXDASH_ALERT_URLS entry 1 refused: apprise does not accept this nosuchservice:// URL"
    )
    assert "hunter2-password" not in message and "token123abc" not in message


def test_a_name_taken_in_the_admin_is_not_a_crash(db, settings, tmp_path):
    AlertChannel.objects.create(name="Environment 1 (file)", kind="file", url=f"file://{tmp_path}/mine.log")
    settings.VOXDASH_ALERT_URLS = [f"file://{tmp_path}/env.log"]
    alert_channels_sync_environment()
    [row] = env_rows()
    assert row.name == "Environment 1 (file) from VOXDASH_ALERT_URLS"


def test_the_environment_channel_sends_to_the_url_in_the_settings(db, settings, tmp_path):
    settings.VOXDASH_ALERT_URLS = [f"file://{tmp_path}/first.log"]
    AlertChannel.objects.update(enabled=False)
    notify(make_alert())
    # The URL changed before the notice left: the setting, not a copy, is what is used.
    settings.VOXDASH_ALERT_URLS = [f"file://{tmp_path}/second.log"]
    alert_deliveries_send()
    assert not (tmp_path / "first.log").exists()
    assert "[voxdash] Alert: Failed calls" in (tmp_path / "second.log").read_text()
