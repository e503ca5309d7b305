"""The staff's "Alerts" menu entry says how many alerts are open, on every page."""

import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from voxdash.alerts.context_processors import open_alerts
from voxdash.alerts.models import Alert, AlertRule

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
