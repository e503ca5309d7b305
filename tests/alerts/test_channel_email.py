"""E-mail through apprise's mailto:// URL, into a real SMTP server (plain SMTP, no TLS, no login)."""

from datetime import timedelta

from tests.alerts import delivering
from tests.alerts.delivering import make_alert, make_channel, notify, only_channels
from tests.fixtures.receivers import SmtpServer, free_port
from voxdash.alerts.models import AlertDelivery
from voxdash.alerts.notify import alert_deliveries_send

smtp = delivering.smtp
State = AlertDelivery.State


def mailto(port: int) -> str:
    # mailto:// (not mailtos://) is apprise's plain SMTP: no STARTTLS, and no login without a user.
    return f"mailto://127.0.0.1:{port}?from=alerts@voxdash.example&to=ops@example.com,oncall@example.com"


def test_an_alert_arrives_by_email(db, smtp):
    channel = make_channel("Ops mail", mailto(smtp.port))
    only_channels(channel)
    alert = make_alert(subject_label="Campaign “Lagos renewals”")
    [delivery] = notify(alert)

    alert_deliveries_send()

    # apprise sends each recipient a message of their own.
    messages = smtp.wait_for(2)
    assert sorted(rcpt for envelope in smtp.envelopes for rcpt in envelope.rcpt_tos) == [
        "oncall@example.com",
        "ops@example.com",
    ]
    for message in messages:
        assert message["Subject"] == "[voxdash] Alert: Failed calls — Campaign “Lagos renewals”"
        assert message["From"] == "alerts@voxdash.example"
        text = SmtpServer.text(message)
        assert "41% of the last hour's 27 ended calls failed" in text
        assert "Details: /calls/?status=failed" in text
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED


def test_the_resolved_notice_says_when_it_started_and_cleared(db, smtp, settings):
    settings.TIME_ZONE = "Africa/Lagos"
    only_channels(make_channel("Ops mail", mailto(smtp.port)))
    alert = make_alert()
    alert.resolved_at = alert.opened_at + timedelta(minutes=30)
    alert.save()
    notify(alert, "resolved")
    alert_deliveries_send()
    message = smtp.wait_for(2)[0]
    assert message["Subject"] == "[voxdash] Resolved: Failed calls"
    text = SmtpServer.text(message)
    assert "Failed calls is back to normal." in text
    assert "WAT" in text  # times in the site's zone, said so


def test_an_smtp_server_that_is_down_gives_apprises_reason(db):
    channel = make_channel("Dead mail", mailto(free_port()))
    only_channels(channel)
    [delivery] = notify(make_alert())
    alert_deliveries_send()
    delivery.refresh_from_db()
    assert delivery.state == State.RETRYING
    # apprise returns False and says why only in its log: that is what the page shows.
    assert delivery.last_error.startswith("Attempt 1: E-Mail: ")
    assert 'Connection error while submitting email to "127.0.0.1"' in delivery.last_error
    assert "Connection refused" in delivery.last_error
