"""/alerts/: open alerts first, then the rules in words, the channels, and the history (filters,
the shared pager, the htmx partial) — staff only, in a fixed number of queries."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from voxdash.alerts.models import Alert, AlertChannel, AlertDelivery, AlertRule

URL = reverse("alerts:index")
HTMX = {"HX-Request": "true", "HX-Target": "changelist"}
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SLACK_TOKEN = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """The header asks Vox who it is on every page: the simulator answers."""


@pytest.fixture
def staff(client, db):
    client.force_login(User.objects.create_user("stan", password="pw-stan-123", is_staff=True))
    return client


def rule(kind: str) -> AlertRule:
    return AlertRule.objects.get(kind=kind, builtin=True)


def alert(rule_: AlertRule, *, opened=T0, resolved=None, summary="Something", subject="", **fields) -> Alert:
    return Alert.objects.create(
        rule=rule_,
        subject=subject,
        subject_label=fields.pop("subject_label", ""),
        opened_at=opened,
        resolved_at=resolved,
        summary=summary,
        **fields,
    )


def delivery(alert_: Alert, channel: AlertChannel, *, notice="fired", **fields) -> AlertDelivery:
    return AlertDelivery.objects.create(
        alert=alert_,
        channel=channel,
        channel_name=channel.name,
        notice=notice,
        title="t",
        body="b",
        created_at=fields.pop("created_at", alert_.opened_at),
        next_attempt_at=alert_.opened_at,
        **fields,
    )


def section(body: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]* id="{section_id}".*?</section>', body, re.S)
    assert match, f"no section {section_id}"
    return match[0]


def test_anonymous_go_to_sign_in_and_viewers_and_callers_are_refused(client, viewer, caller):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for person in (viewer, caller):
        client.force_login(person)
        assert client.get(URL).status_code == 403


def test_the_rules_read_in_words_with_state_cooldown_and_evaluation(staff):
    failed = rule("failure_rate")
    failed.last_evaluated_at = T0
    failed.save()
    breaker = rule("campaign_breaker")
    breaker.enabled = False
    breaker.last_error = "OperationalError: no such table"
    breaker.save()
    finished = rule("campaign_finished")

    rules = section(staff.get(URL).content.decode(), "rules")
    row = re.search(rf'<tr class="alert-rule" data-rule="{failed.pk}".*?</tr>', rules, re.S)[0]
    assert "More than 30% of the last 60 minutes&#x27; ended calls failed" in row
    assert "At most one notice every 60 minutes" in row and "badge-ok" in row and ">on<" in row
    assert '<time datetime="2026-12-01T' in row and "Every-rule channels" in row
    row = re.search(rf'<tr class="alert-rule" data-rule="{breaker.pk}".*?</tr>', rules, re.S)[0]
    assert ">off<" in row and "Evaluation failed:</strong> OperationalError: no such table" in row
    row = re.search(rf'<tr class="alert-rule" data-rule="{finished.pk}".*?</tr>', rules, re.S)[0]
    assert "Told once" in row and "Never" in row  # not evaluated yet
    assert rules.count('class="alert-rule"') == AlertRule.objects.count() == 12


def test_open_alerts_come_first_with_subject_since_summary_link_and_last_notice(staff):
    breaker = rule("campaign_breaker")
    alert(
        breaker,
        subject="7",
        subject_label="December reminders",
        summary="Paused itself after 5 failures in a row.",
        link="/campaigns/7/",
        last_notified_at=T0 + timedelta(minutes=1),
        notices=2,
    )
    alert(rule("vox_unreachable"), resolved=T0 + timedelta(hours=1), summary="Vox did not answer /health.")

    body = staff.get(URL).content.decode()
    assert body.index('id="open-alerts"') < body.index('id="rules"') < body.index('id="channels"')
    assert body.index('id="channels"') < body.index('id="history"')
    opened = section(body, "open-alerts")
    assert "Open alerts (1)" in opened and "December reminders" in opened
    assert "Paused itself after 5 failures in a row." in opened and 'href="/campaigns/7/"' in opened
    assert "1 Dec 2026, 09:00" in opened and "1 Dec 2026, 09:01" in opened and "(2 notices)" in opened
    assert "Vox did not answer" not in opened  # resolved: history only


def test_nothing_open_says_so(staff):
    assert "Nothing is wrong right now." in section(staff.get(URL).content.decode(), "open-alerts")


def test_channels_show_kind_masked_url_source_scope_and_delivery_state(staff, settings):
    slack = AlertChannel.objects.create(
        name="Ops Slack",
        kind=AlertChannel.Kind.APPRISE,
        url=f"slack://{SLACK_TOKEN}/#ops",
        every_rule=False,
        last_delivered_at=T0,
        last_failed_at=T0 + timedelta(minutes=5),
        last_error="Slack answered 404 (channel_not_found)",
    )
    rule("failure_rate").channels.add(slack)
    AlertChannel.objects.create(
        name="Environment 1 (Webhook)",
        kind=AlertChannel.Kind.WEBHOOK,
        from_environment=True,
        environment_index=0,
        last_delivered_at=T0,
    )
    settings.VOXDASH_ALERT_URLS = ["https://hooks.example.com/alerts"]
    AlertChannel.objects.create(
        name="Demo file", kind=AlertChannel.Kind.FILE, url="file:///tmp/a.log", enabled=False
    )

    body = staff.get(URL).content.decode()
    channels = section(body, "channels")
    assert SLACK_TOKEN not in body and "TIiajkdnlazkcOXrIdevi7FQ" not in body  # masked everywhere on the page
    slack_row = re.search(rf'data-channel="{slack.pk}".*?</tr>', channels, re.S)[0]
    assert "Notification service (apprise URL)" in slack_row and "Added in the admin" in slack_row
    assert "Only Failed calls" in slack_row and "failing" in slack_row
    assert "Slack answered 404 (channel_not_found)" in slack_row and "Send test" in slack_row
    assert "From VOXDASH_ALERT_URLS" in channels and "Every rule" in channels
    assert "delivered" in channels and "Nothing sent yet" in channels and ">off<" in channels
    assert channels.count(">Send test</button>") == 3
    # The rule that names the channel says so too.
    assert "Every-rule channels, and Ops Slack" in section(body, "rules")


def test_the_history_shows_each_alert_with_its_deliveries(staff):
    slack = AlertChannel.objects.create(name="Ops Slack", kind="apprise", url="slack://a/b/c")
    hook = AlertChannel.objects.create(name="Pager hook", kind="webhook", url="https://example.com/h")
    failed = alert(
        rule("failure_rate"),
        resolved=T0 + timedelta(hours=2),
        summary="42% of 50 ended calls failed.",
        link="/calls/?status=failed",
    )
    delivery(failed, slack, state="delivered", attempts=1, delivered_at=T0 + timedelta(seconds=3))
    delivery(failed, hook, state="retrying", attempts=3, last_error="Connection refused")
    delivery(
        failed, slack, notice="resolved", state="delivered", attempts=1, created_at=T0 + timedelta(hours=2)
    )
    alert(rule("sync_stale"), opened=T0 + timedelta(hours=3), summary="No complete sync for 20 minutes.")

    history = section(staff.get(URL).content.decode(), "history")
    assert "2 alerts." in history
    assert history.index("No complete sync") < history.index("42% of 50 ended calls failed.")
    deliveries = re.search(
        rf'<tr class="history-deliveries" data-alert="{failed.pk}">.*?</table>', history, re.S
    )[0]
    rows = re.findall(r'<tr class="alert-delivery".*?</tr>', deliveries, re.S)
    assert len(rows) == 3
    assert "Fired" in rows[0] and "Ops Slack" in rows[0] and "Delivered" in rows[0] and "09:00:03" in rows[0]
    assert "Pager hook" in rows[1] and "Failed, will retry" in rows[1] and ">3<" in rows[1]
    assert "Connection refused" in rows[1]
    assert "Resolved" in rows[2]
    assert "1 Dec 2026, 11:00" in history  # resolved at
    assert "No notice sent" in history  # the sync alert (opened without a channel)


def test_the_history_filters_by_rule_and_state_and_keeps_one_another(staff):
    failed, stale = rule("failure_rate"), rule("sync_stale")
    alert(failed, summary="open failure", opened=T0)
    alert(failed, summary="old failure", opened=T0 - timedelta(days=1), resolved=T0 - timedelta(hours=20))
    alert(stale, summary="old stale", opened=T0 - timedelta(days=2), resolved=T0 - timedelta(days=1))

    def history(**query) -> str:
        return section(staff.get(URL, query).content.decode(), "history")

    by_rule = history(rule=failed.pk)
    assert "open failure" in by_rule and "old failure" in by_rule and "old stale" not in by_rule
    assert "2 alerts match these filters." in by_rule
    resolved = history(state="resolved")
    assert "old failure" in resolved and "old stale" in resolved and "open failure" not in resolved
    both = history(rule=failed.pk, state="open")
    assert "open failure" in both and "old failure" not in both and "old stale" not in both
    # The filter links keep the other filter and go back to the first page.
    assert f'href="?rule={failed.pk}&amp;state=resolved"' in both
    assert "Clear all filters" in both
    assert "No alerts match these filters." in history(rule=stale.pk, state="open")


def test_bad_filters_are_ignored_and_said_so(staff):
    alert(rule("failure_rate"), summary="still listed")
    response = staff.get(URL, {"rule": "abc", "state": "sideways", "page": "0"})
    assert response.status_code == 200
    history = section(response.content.decode(), "history")
    assert "Some filters were ignored" in history and "still listed" in history


def test_the_history_is_paged_with_the_shared_pager(staff):
    failed = rule("failure_rate")
    for n in range(30):
        alert(
            failed,
            summary=f"alert {n:02}",
            opened=T0 + timedelta(minutes=n),
            resolved=T0 + timedelta(hours=1),
        )
    first = section(staff.get(URL).content.decode(), "history")
    assert "alert 29" in first and "alert 05" in first and "alert 04" not in first
    assert 'class="paginator"' in first and 'href="?page=2"' in first and "page 1 of 2" in first
    second = section(staff.get(URL, {"page": 2}).content.decode(), "history")
    assert "alert 04" in second and "alert 00" in second and "alert 05" not in second


def test_htmx_gets_only_the_history_with_its_container_attributes(staff):
    alert(rule("failure_rate"), summary="in the partial")
    body = staff.get(URL, {"state": "open"}, headers=HTMX).content.decode()
    assert "in the partial" in body and "<html" not in body
    assert 'id="open-alerts"' not in body and 'id="rules"' not in body
    assert body.lstrip().startswith('<div class="module filtered" id="changelist" data-hx-target="this"')
    assert body.count("hx-target") == 1 and body.count("hx-push-url") == 1
    # A history restore (back button, htmx's history cache off) gets the whole page.
    restore = staff.get(URL, headers={**HTMX, "HX-History-Restore-Request": "true"}).content.decode()
    assert "<html" in restore and 'id="rules"' in restore


def _queries(client) -> int:
    client.get(URL)  # the first page of a session also stores the session and the connection status
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_page_costs_a_fixed_number_of_queries(staff, django_assert_max_num_queries):
    channel = AlertChannel.objects.create(name="Ops", kind="file", url="file:///tmp/x.log", every_rule=False)
    alert(rule("failure_rate"), summary="one")
    few = _queries(staff)
    rules = list(AlertRule.objects.all())
    for n in range(8):
        other = AlertChannel.objects.create(
            name=f"Channel {n}", kind="file", url=f"file:///tmp/{n}.log", every_rule=n % 2 == 0
        )
        for r in rules[:4]:
            r.channels.add(other, channel)
    for n, r in enumerate(rules):
        opened = alert(r, summary=f"open {n}", opened=T0 + timedelta(minutes=n), subject=str(n))
        old = alert(r, summary=f"old {n}", opened=T0 - timedelta(days=1), resolved=T0, subject=str(n))
        for a in (opened, old):
            for c in (channel, other):
                delivery(a, c, state="delivered", attempts=1, delivered_at=T0)
    assert Alert.objects.count() > 20 and AlertDelivery.objects.count() > 40
    with django_assert_max_num_queries(few):
        assert staff.get(URL).status_code == 200
    assert few <= 16  # sessions, user, header, then a handful for the page's sections


def test_the_sections_cost_seven_queries_and_the_menu_counts_from_the_open_list(staff):
    channel = AlertChannel.objects.create(name="Ops", kind="file", url="file:///tmp/x.log", every_rule=False)
    rule("failure_rate").channels.add(channel)
    for n in range(3):
        opened = alert(rule("failure_rate"), summary=f"open {n}", subject=str(n))
        delivery(opened, channel, state="delivered", attempts=1, delivered_at=T0)
    alert(rule("vox_unreachable"), summary="over", resolved=T0 + timedelta(hours=1))
    staff.get(URL)
    with CaptureQueriesContext(connection) as queries:
        body = staff.get(URL).content.decode()
    of_alerts = [q["sql"] for q in queries if '"alerts_' in q["sql"]]
    # Rules, channels, their links; the open alerts; the history's count, page and deliveries.
    assert len(of_alerts) == 7, of_alerts
    assert not any("JOIN" in sql.upper() for sql in of_alerts)  # the rows take their rule from the rules read
    # The menu's open count is the open list's length, not a COUNT of its own, and still right.
    assert 'Alerts <span class="badge badge-failed" title="Open alerts">3<' in body
    assert body.count('class="open-alert"') == 3
    # Each history row names and links its own rule, and lists its own notices.
    history = body[body.index('id="history"') :]
    # (all opened at T0: newest first is the last made first)
    assert (
        re.findall(r'<tr class="history-alert".*?<a href="([^"]+)">([^<]+)</a>', history, re.S)
        == [(f"/alerts/rules/{rule('vox_unreachable').pk}/", "Vox unreachable")]
        + [(f"/alerts/rules/{rule('failure_rate').pk}/", "Failed calls")] * 3
    )
    assert history.count('class="alert-delivery"') == 3
