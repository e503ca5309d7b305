"""The file channel: one line a notice, appended, its folder made when missing."""

from tests.alerts.delivering import make_alert, make_channel, notify, only_channels
from voxdash.alerts.models import AlertDelivery
from voxdash.alerts.notify import alert_deliveries_send

State = AlertDelivery.State


def test_each_notice_is_one_line_appended(db, tmp_path):
    path = tmp_path / "not" / "there" / "yet" / "alerts.log"
    only_channels(make_channel("Demo file", f"file://{path}"))
    alert = make_alert()
    notify(alert)
    alert_deliveries_send()
    alert.summary = "Failure rate back to 4%"
    alert.resolved_at = alert.opened_at
    alert.save()
    notify(alert, "resolved")
    alert_deliveries_send()

    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert (
        " FIRED [voxdash] Alert: Failed calls | 41% of the last hour's 27 ended calls failed | Since "
        in lines[0]
    )
    assert lines[0].endswith("| Details: /calls/?status=failed")
    assert " RESOLVED [voxdash] Resolved: Failed calls | Failed calls is back to normal. | " in lines[1]
    assert "Last seen: Failure rate back to 4%" in lines[1]
    assert set(AlertDelivery.objects.values_list("state", flat=True)) == {State.DELIVERED}


def test_a_file_that_cannot_be_written_is_a_failure_with_the_reason(db, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    only_channels(make_channel("Blocked", f"file://{blocker}/alerts.log"))
    [delivery] = notify(make_alert())
    alert_deliveries_send()
    delivery.refresh_from_db()
    assert delivery.state == State.RETRYING
    assert delivery.last_error.startswith(f"Attempt 1: cannot write {blocker}/alerts.log: ")


def test_a_relative_file_url_is_refused_with_how_to_write_it(db):
    # Retried like any failure: whoever fixes the URL within the day still gets the notice.
    only_channels(make_channel("Relative", "file://alerts.log"))
    [delivery] = notify(make_alert())
    alert_deliveries_send()
    delivery.refresh_from_db()
    assert delivery.state == State.RETRYING
    assert "file:///path/to/alerts.log" in delivery.last_error
