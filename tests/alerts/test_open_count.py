"""The staff menu's count of open alerts, on every staff page (alerts.selectors.open_alert_count):
kept for everyone and a few seconds in each process, forgotten when an alert is saved or deleted,
so the page after a change shows it, and a change another process made shows within
OPEN_COUNT_KEPT_HERE seconds."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from voxdash.alerts.models import Alert, AlertRule
from voxdash.alerts.selectors import OPEN_COUNT_KEPT_HERE, OPEN_COUNT_KEY
from voxdash.lib import caching

PAGE = "/webhooks/log/"  # a staff page that asks Vox nothing: only the menu counts alerts
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """The header asks Vox who it is: the simulator answers."""


@pytest.fixture
def staff(client, db):
    client.force_login(User.objects.create_user("stan", password="pw-stan-123", is_staff=True))
    return client


def badge(client) -> str:
    """What the menu's Alerts entry shows: the number, or "" when nothing is open."""
    body = client.get(PAGE).content.decode()
    entry = body[body.index(">Alerts") : body.index("</a>", body.index(">Alerts"))]
    if "badge" not in entry:
        return ""
    return entry.split('title="Open alerts">')[1].split("<")[0]


def open_alert(subject: str) -> Alert:
    rule = AlertRule.objects.get(kind="failure_rate", builtin=True)
    return Alert.objects.create(rule=rule, subject=subject, opened_at=T0, summary="Failures")


def test_an_alert_opened_or_resolved_shows_on_the_next_page(staff):
    assert badge(staff) == ""
    first = open_alert("a")
    assert badge(staff) == "1"
    open_alert("b")
    assert badge(staff) == "2"
    first.resolved_at = T0
    first.save(update_fields=["resolved_at"])
    assert badge(staff) == "1"
    AlertRule.objects.get(kind="failure_rate", builtin=True).alerts.all().delete()
    assert badge(staff) == ""


def test_the_next_pages_count_nothing(staff):
    open_alert("a")
    assert badge(staff) == "1"
    with CaptureQueriesContext(connection) as queries:
        assert badge(staff) == "1"
    assert not [q["sql"] for q in queries if '"alerts_' in q["sql"]]


def test_a_count_kept_before_the_change_committed_is_forgotten_at_the_commit(
    staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        open_alert("a")
        # Another process counted before this transaction committed, and kept the old figure.
        cache.set(OPEN_COUNT_KEY, 0, 30)
        caching.forget_here()
    assert badge(staff) == "1"


def test_a_change_made_in_another_process_shows_within_the_kept_seconds(staff, monkeypatch):
    assert badge(staff) == ""
    # Another process (a Celery worker's evaluation) opens one: its signal forgets the shared
    # copy, not this process's own.
    Alert.objects.bulk_create(
        [
            Alert(
                rule=AlertRule.objects.get(kind="failure_rate", builtin=True),
                subject="a",
                opened_at=T0,
                summary="Failures",
            )
        ]
    )
    cache.delete(OPEN_COUNT_KEY)
    assert badge(staff) == ""
    later = caching.time.time() + OPEN_COUNT_KEPT_HERE + 0.1
    monkeypatch.setattr(caching.time, "time", lambda: later)
    assert badge(staff) == "1"
