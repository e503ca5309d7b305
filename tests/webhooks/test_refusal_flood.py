"""A flood of refused deliveries costs a bounded number of log lines and rows, with the cache up or down."""

import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from voxdash.webhooks import services
from voxdash.webhooks.models import RefusedDelivery, WebhookEvent

from .conftest import URL, call_data, deliver, event

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 9, 0, 5, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """A settable clock for the receiver: a minute's window must not depend on when the test runs."""
    current = [NOW]
    monkeypatch.setattr(services.timezone, "now", lambda: current[0])
    return current


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def _flood(client, count: int) -> list[int]:
    return [
        client.post(URL, b'{"id":"junk"}', content_type="application/json").status_code for _ in range(count)
    ]


def _lines(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_a_flood_logs_a_sample_and_a_summary(client, clock, caplog):
    with caplog.at_level(logging.INFO):
        assert set(_flood(client, 150)) == {400}
    assert len(_lines(caplog, "webhook rejected")) == 10  # REFUSALS_LOGGED_PER_MINUTE
    assert len(_lines(caplog, "the rest are counted, not logged")) == 1
    assert _lines(caplog, "Bad Request") == []  # Django's own unsampled line per 4xx
    # The request log's own line per request: at INFO for the sample, quiet (DEBUG) past it.
    assert len([r for r in caplog.records if r.name == "voxdash.requests"]) == 10
    assert RefusedDelivery.objects.count() == 60  # REFUSALS_PER_MINUTE

    caplog.clear()
    clock[0] += timedelta(minutes=1)
    with caplog.at_level(logging.INFO):
        assert _flood(client, 1) == [400]
    assert _lines(caplog, "not logged") == [
        "webhook refusals: 140 more in the previous minute were not logged"
    ]
    assert len(_lines(caplog, "webhook rejected")) == 1
    assert RefusedDelivery.objects.count() == 61


def _dead_port() -> int:
    # A port nothing listens on: Redis stopped (connection refused).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cache_down_is_no_500_and_the_sample_still_holds(client, clock, caplog, settings, monkeypatch):
    from voxdash.webhooks import tasks

    settings.CACHES = {
        "default": {
            "BACKEND": "voxdash.lib.cache.FallbackRedisCache",  # production's, as settings choose it
            "LOCATION": f"redis://127.0.0.1:{_dead_port()}/0",
        }
    }
    with caplog.at_level(logging.INFO):
        assert set(_flood(client, 30)) == {400}
    # Counted by this process alone while the shared cache is away: still a bound.
    assert len(_lines(caplog, "webhook rejected")) == 10  # REFUSALS_LOGGED_PER_MINUTE
    assert RefusedDelivery.objects.count() == 30
    # And a real delivery is still stored and acknowledged.
    monkeypatch.setattr(tasks.process_webhook_event, "delay", lambda pk: None)
    assert deliver(client, event("vox.call.started", call_data())).status_code == 200
    assert WebhookEvent.objects.count() == 1
