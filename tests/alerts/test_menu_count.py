"""The staff's "Alerts" menu entry says how many alerts are open, on every page: kept for everyone
and a few seconds in each process (alerts.selectors.open_alert_count), forgotten when an alert is
opened, resolved or deleted, so the page after a change shows it, and a change another process
made shows within OPEN_COUNT_KEPT_HERE seconds."""

import re
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from voxdash.alerts.context_processors import open_alerts
from voxdash.alerts.models import Alert, AlertRule
from voxdash.alerts.selectors import OPEN_COUNT_KEPT_HERE, OPEN_COUNT_KEY
from voxdash.lib import caching

from .test_views_index import T0, alert, staff  # noqa: F401  (staff: a fixture)

pytestmark = pytest.mark.usefixtures("vox_settings")


def menu_entry(body: str) -> str:
    [entry] = re.findall(r'<a href="/alerts/"[^>]*>(.*?)</a>', body, re.S)
    return re.sub(r"<[^>]+>", "", entry).strip()


def test_staff_see_how_many_are_open(staff):  # noqa: F811
    assert menu_entry(staff.get(reverse("calls:list")).content.decode()) == "Alerts"
    failed = AlertRule.objects.get(kind="failure_rate", builtin=True)
    alert(failed)
    alert(AlertRule.objects.get(kind="vox_unreachable", builtin=True))
    alert(failed, subject="x", resolved=T0)  # resolved: not counted
    assert Alert.objects.count() == 3
    assert menu_entry(staff.get(reverse("overview")).content.decode()) == "Alerts 2 open"


def test_others_neither_see_the_entry_nor_pay_for_the_count(viewer_client, viewer, django_assert_num_queries):
    alert(AlertRule.objects.get(kind="failure_rate", builtin=True))
    body = viewer_client.get(reverse("calls:list")).content.decode()
    assert 'href="/alerts/"' not in body
    with django_assert_num_queries(0):
        assert open_alerts(SimpleNamespace(user=viewer)) == {}


PAGE = reverse("webhooks:log")  # a staff page that asks Vox nothing: only the menu counts alerts


def badge(client) -> str:
    return menu_entry(client.get(PAGE).content.decode())


def test_an_alert_opened_or_resolved_shows_on_the_next_page(staff):  # noqa: F811
    failed = AlertRule.objects.get(kind="failure_rate", builtin=True)
    assert badge(staff) == "Alerts"
    first = alert(failed, subject="a")
    assert badge(staff) == "Alerts 1 open"
    alert(failed, subject="b")
    assert badge(staff) == "Alerts 2 open"
    first.resolved_at = T0
    first.save(update_fields=["resolved_at"])
    assert badge(staff) == "Alerts 1 open"
    failed.alerts.all().delete()
    assert badge(staff) == "Alerts"


def test_the_next_pages_count_nothing(staff):  # noqa: F811
    alert(AlertRule.objects.get(kind="failure_rate", builtin=True))
    assert badge(staff) == "Alerts 1 open"
    with CaptureQueriesContext(connection) as queries:
        assert badge(staff) == "Alerts 1 open"
    assert not [q["sql"] for q in queries if '"alerts_' in q["sql"]]


def test_a_count_kept_before_the_change_committed_is_forgotten_at_the_commit(
    staff,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        alert(AlertRule.objects.get(kind="failure_rate", builtin=True))
        # Another process counted before this transaction committed, and kept the old figure.
        cache.set(OPEN_COUNT_KEY, 0, 30)
        caching.forget_here()
    assert badge(staff) == "Alerts 1 open"


def test_a_change_made_in_another_process_shows_within_the_kept_seconds(staff, monkeypatch):  # noqa: F811
    assert badge(staff) == "Alerts"
    # Another process (a Celery worker's evaluation) opens one: its signal forgets the shared
    # copy, not this process's own.
    rule = AlertRule.objects.get(kind="failure_rate", builtin=True)
    Alert.objects.bulk_create([Alert(rule=rule, subject="a", opened_at=T0, summary="Failures")])
    cache.delete(OPEN_COUNT_KEY)
    assert badge(staff) == "Alerts"
    later = caching.time.time() + OPEN_COUNT_KEPT_HERE + 0.1
    monkeypatch.setattr(caching.time, "time", lambda: later)
    assert badge(staff) == "Alerts 1 open"


def test_a_save_that_leaves_the_count_keeps_it(staff):  # noqa: F811
    opened = alert(AlertRule.objects.get(kind="failure_rate", builtin=True))
    assert badge(staff) == "Alerts 1 open"
    opened.summary = "Still failing"
    opened.save(update_fields=["summary"])  # an evaluation that finds it still holding
    assert cache.get(OPEN_COUNT_KEY) == 1  # not forgotten: the next pages still count nothing
