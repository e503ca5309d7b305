"""/audit/export.csv: the filtered log as CSV, every page, streamed, safe in a spreadsheet, and itself recorded."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from voxdash.accounts.models import Profile
from voxdash.audit import selectors
from voxdash.audit.log import Action, Target, audit_record

from .conftest import ADDRESS, entries, rows_of

EXPORT = reverse("audit:export")


def read_csv(response) -> list[dict]:
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="voxdash-audit_')
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_every_entry_of_the_filters_with_readable_and_raw_detail(auditor, staff):
    Profile.objects.create(user=staff, time_zone="Africa/Lagos")
    with time_machine.travel(datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        audit_record(
            action=Action.DNC_IMPORTED,
            username="cal",
            target=Target(type="file", label="opt-outs.csv", url="/dnc/"),
            detail={"added": 2, "already": 1, "invalid": 0},
        )
        audit_record(action=Action.DNC_ADDED, username="vera")
    rows = read_csv(auditor.get(EXPORT, {"user": "cal"}))
    assert rows == [
        {
            "at": "2026-11-20T10:00:00+01:00",  # the reader's zone, with its offset
            "user": "cal",
            "via": "voxdash",
            "address": "",
            "action": "dnc_imported",
            "what": "Imported into the do-not-call list",
            "object_type": "file",
            "object_id": "",
            "object": "opt-outs.csv",
            "object_url": "/dnc/",
            "detail": "2 added; 1 already listed; 0 invalid",
            "detail_json": '{"added": 2, "already": 1, "invalid": 0}',
            "request_id": "",
        }
    ]


def test_the_export_is_recorded_with_its_filters_and_a_bad_one_is_dropped(staff, vox_settings, auditor):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(staff)
    read_csv(client.get(EXPORT, {"action": Action.SIGNED_IN, "date_from": "2026-11-01", "date_to": "nope"}))
    [exported] = entries(Action.AUDIT_EXPORTED)
    assert exported.detail == {"filters": {"action": "signed_in", "date_from": "2026-11-01"}}
    assert rows_of(auditor, Action.AUDIT_EXPORTED) == [
        [
            "sam",
            ADDRESS,
            "Exported the audit log (CSV)",
            "—",
            "filters: action=signed_in, date_from=2026-11-01",
        ]
    ]


def test_cells_a_spreadsheet_would_run_are_neutralised(auditor):
    audit_record(action=Action.SIGN_IN_FAILED, username='=HYPERLINK("http://evil.example","x")')
    [row] = read_csv(auditor.get(EXPORT, {"action": Action.SIGN_IN_FAILED}))
    assert row["user"] == '\'=HYPERLINK("http://evil.example","x")'


def test_streamed_in_chunks_of_rows_not_one_query_for_everything(auditor, monkeypatch):
    monkeypatch.setattr(selectors, "CSV_CHUNK_ROWS", 10)
    start = timezone.now() - timedelta(hours=1)
    for n in range(25):
        with time_machine.travel(start + timedelta(seconds=n), tick=False):
            audit_record(action=Action.DNC_ADDED, username=f"u{n:02}")
    response = auditor.get(EXPORT, {"action": Action.DNC_ADDED})
    with CaptureQueriesContext(connection) as queries:
        pieces = list(response.streaming_content)
    assert len(pieces) == 3  # the header and 10 rows, 10 rows, the last 5
    text = b"".join(pieces).decode()
    users = [row["user"] for row in csv.DictReader(io.StringIO(text))]
    assert users == [f"u{n:02}" for n in range(24, -1, -1)]  # newest first, as the page
    # One SELECT read through a cursor in chunks (server-side on PostgreSQL), never the whole table.
    assert len([q for q in queries if "audit_auditentry" in q["sql"]]) == 1
