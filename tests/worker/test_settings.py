"""The Celery settings chosen for killed workers and broker restarts, as production reads them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.deploy.test_settings import production_settings


def test_redis_broker_gets_the_visibility_timeout_and_the_fixed_transport(monkeypatch):
    s = production_settings(monkeypatch, CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    assert s["CELERY_BROKER_TRANSPORT"] == "voxdash.celery:RedisTransport"
    assert s["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 900
    # Longer than the longest countdown a task waits for (retries back off to at most 300 s).
    assert s["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] > 300
    assert s["CELERY_TASK_ACKS_LATE"] is True
    assert s["CELERY_TASK_REJECT_ON_WORKER_LOST"] is False
    assert s["CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP"] is True
    assert s["CELERY_BROKER_CONNECTION_MAX_RETRIES"] is None


def test_tls_and_embedded_brokers_keep_kombus_own_transports(monkeypatch):
    tls = production_settings(monkeypatch, CELERY_BROKER_URL="rediss://127.0.0.1:6380/0")
    assert "CELERY_BROKER_TRANSPORT" not in tls
    assert tls["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 900
    embedded = production_settings(monkeypatch)
    assert "CELERY_BROKER_TRANSPORT" not in embedded
    assert "visibility_timeout" not in embedded["CELERY_BROKER_TRANSPORT_OPTIONS"]


def test_beat_runs_both_sweeps_every_so_often(monkeypatch):
    defaults = production_settings(monkeypatch)
    assert defaults["VOXDASH_SWEEP_AFTER_SECONDS"] == 120
    assert defaults["CELERY_BEAT_SCHEDULE"]["sweep-webhook-events"]["schedule"] == 60.0
    schedule = production_settings(monkeypatch, VOXDASH_SWEEP_EVERY="30")["CELERY_BEAT_SCHEDULE"]
    assert schedule["sweep-webhook-events"]["task"] == "voxdash.webhooks.tasks.sweep_webhook_events"
    assert schedule["sweep-full-sync"]["task"] == "voxdash.calls.tasks.sweep_full_sync"
    for name in ("sweep-webhook-events", "sweep-full-sync"):
        assert schedule[name]["schedule"] == 30.0
        assert schedule[name]["options"] == {"expires": 30}  # a backlog of sweeps is dropped


@pytest.mark.parametrize(
    "name", ["VOXDASH_SWEEP_AFTER_SECONDS", "VOXDASH_SWEEP_EVERY", "VOXDASH_SWEEP_BATCH"]
)
def test_a_sweep_setting_below_one_is_refused_with_its_name(monkeypatch, name):
    with pytest.raises(ImproperlyConfigured, match=name):
        production_settings(monkeypatch, **{name: "0"})
