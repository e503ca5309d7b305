"""Retention: entries older than VOXDASH_AUDIT_RETENTION_DAYS are pruned nightly, in batches."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from voxdash.audit import services, tasks
from voxdash.audit.log import Action, audit_record
from voxdash.audit.models import AuditEntry

NOW = datetime(2026, 12, 2, 4, 15, tzinfo=ZoneInfo("UTC"))  # beat's nightly run


def entry_at(at: datetime, username: str) -> AuditEntry:
    with time_machine.travel(at, tick=False):
        return audit_record(action=Action.DNC_ADDED, username=username)


@pytest.fixture
def ages(db):
    """One entry of each age, in days before NOW."""
    for days in (400, 366, 365, 364, 30, 0):
        entry_at(NOW - timedelta(days=days, seconds=-1 if days == 365 else 0), f"{days}d")


def names() -> list[str]:
    return sorted(AuditEntry.objects.values_list("username", flat=True), key=lambda name: int(name[:-1]))


def test_entries_past_the_retention_are_deleted_and_the_rest_kept(ages, settings):
    settings.VOXDASH_AUDIT_RETENTION_DAYS = 365
    with time_machine.travel(NOW, tick=False):
        assert services.audit_prune() == 2
    assert names() == ["0d", "30d", "364d", "365d"]  # 365 days less a second: still inside
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert tasks.audit_prune() == 1  # the task beat runs, a night later: the next one goes
    assert names() == ["0d", "30d", "364d"]


def test_a_shorter_retention_and_an_explicit_now(ages, settings):
    settings.VOXDASH_AUDIT_RETENTION_DAYS = 31
    assert services.audit_prune(now=NOW) == 4
    assert names() == ["0d", "30d"]


def test_zero_keeps_everything(ages, settings):
    settings.VOXDASH_AUDIT_RETENTION_DAYS = 0
    with time_machine.travel(NOW + timedelta(days=3650), tick=False):
        assert services.audit_prune() == 0
    assert len(names()) == 6


def test_a_big_backlog_goes_in_batches_each_its_own_short_statement(db, settings, monkeypatch):
    settings.VOXDASH_AUDIT_RETENTION_DAYS = 365
    monkeypatch.setattr(services, "PRUNE_BATCH", 4)
    for n in range(10):
        entry_at(NOW - timedelta(days=500, minutes=n), f"{n}d")
    entry_at(NOW, "0d")
    with CaptureQueriesContext(connection) as queries:
        assert services.audit_prune(now=NOW) == 10
    deletes = [q["sql"] for q in queries if q["sql"].upper().startswith("DELETE")]
    assert len(deletes) == 3  # 4 + 4 + 2: never one statement over the whole backlog
    assert names() == ["0d"]


def test_beat_runs_it_nightly(settings):
    from voxdash.settings import _beat_schedule

    entry = _beat_schedule()["prune-audit-log"]
    assert entry["task"] == "voxdash.audit.tasks.audit_prune" == tasks.audit_prune.name
