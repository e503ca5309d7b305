"""Helpers of the delivery tests: an alert, a channel, a notice about it (real rows, real senders)."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from tests.fixtures.receivers import http_receiver, smtp_server
from voxdash.alerts.models import Alert, AlertChannel, AlertDelivery, AlertRule
from voxdash.alerts.notify import alert_notify


def make_channel(name: str, url: str, *, kind: str | None = None, **fields) -> AlertChannel:
    if kind is None:
        scheme = url.split("://", 1)[0]
        kind = {"http": "webhook", "https": "webhook", "file": "file"}.get(scheme, "apprise")
    return AlertChannel.objects.create(name=name, kind=kind, url=url, **fields)


def make_alert(*, kind: str = "failure_rate", opened_at: datetime | None = None, **fields) -> Alert:
    rule = AlertRule.objects.filter(kind=kind).order_by("id").first()
    if rule is None:  # a transactional test before this one flushed what the migration made
        rule = AlertRule.objects.create(kind=kind, name=AlertRule.Kind(kind).label, builtin=True)
    values = {
        "summary": "41% of the last hour's 27 ended calls failed",
        "value": 41.0,
        "link": "/calls/?status=failed",
    }
    values.update(fields)
    return Alert.objects.create(rule=rule, opened_at=opened_at or timezone.now(), **values)


def notify(alert: Alert, notice: str = "fired") -> list[AlertDelivery]:
    return alert_notify(alert=alert, notice=notice)


def only_channels(*channels: AlertChannel) -> None:
    """Make these the only channels that receive every rule's notices (the test's own)."""
    AlertChannel.objects.exclude(pk__in=[c.pk for c in channels]).update(enabled=False)


@pytest.fixture
def receiver():
    with http_receiver() as hook:
        yield hook


@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


@pytest.fixture
def short_timeout(monkeypatch):
    """Senders give up after 1 s instead of 10, so a hung receiver costs a test one second."""
    from voxdash.alerts import channels, notify

    monkeypatch.setattr(channels, "SEND_TIMEOUT_SECONDS", 1.0)
    monkeypatch.setattr(notify, "SEND_GRACE_SECONDS", 1.0)
