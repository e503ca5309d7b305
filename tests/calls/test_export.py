"""/calls/export.csv: exactly the filtered history, every page, streamed, safe to open in a spreadsheet."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from tests.stats.conftest import call_set  # noqa: F401  (the fixed call set, as a fixture)
from voxdash.calls import export
from voxdash.calls.filters import CallFilters
from voxdash.calls.models import Call

URL = reverse("calls:export")
LIST_URL = reverse("calls:list")


def read_csv(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def history_pages(client, params: dict) -> list:
    """Every row of the history view for these filters, page after page."""
    calls, page = [], 1
    while True:
        history = client.get(LIST_URL, {**params, "page": page, "limit": 20}).context["history"]
        calls += history.calls
        if not history.meta.has_more:
            return calls
        page += 1


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("params", [{"status": "completed"}, {"direction": "inbound", "search": "a"}, {}])
def test_round_trip_equals_every_page_of_the_api_view(viewer_client, synced, params):
    # The mirror holds the simulator's 300 calls, so the API's pages and the export must agree.
    shown = history_pages(viewer_client, params)
    assert len(shown) > 20  # more than one page
    rows = read_csv(viewer_client.get(URL, params))
    assert [r["id"] for r in rows] == [c.id for c in shown]
    for row, call in zip(rows, shown, strict=True):
        assert row["status"] == call.status and row["direction"] == call.direction
        assert row["customer_phone"] == call.customer_phone
        assert row["customer_name"].lstrip("'") == (call.customer_name or "")
        assert row["duration_seconds"] == (
            "" if call.duration_seconds is None else str(call.duration_seconds)
        )
        assert datetime.fromisoformat(row["created_at"]) == call.created_at


def test_round_trip_of_a_mirror_filtered_view(viewer_client, call_set):  # noqa: F811
    Call.objects.bulk_create(
        Call(
            vox_id=f"p{n:03}",
            direction="outbound",
            status="failed",
            customer_phone="+2348031111111",
            customer_name=f"Bulk {n}",
            created_at=datetime(2026, 11, 21, 12, tzinfo=UTC) + timedelta(seconds=n),
        )
        for n in range(55)
    )
    params = {"created_after": "2026-11-21", "created_before": "2026-11-22", "status": "failed"}
    shown = history_pages(viewer_client, params)
    assert len(shown) == 56  # 55 + c08; three pages of the view
    rows = read_csv(viewer_client.get(URL, {**params, "page": 2, "limit": 20}))  # paging is ignored
    assert [r["id"] for r in rows] == [c.id for c in shown]


def test_columns_times_with_offset_and_filename(viewer_client, call_set, settings):  # noqa: F811
    response = viewer_client.get(URL, {"status": "completed", "created_after": "2026-11-21"})
    assert response["Content-Type"].startswith("text/csv")
    disposition = response["Content-Disposition"]
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    assert disposition == (
        f'attachment; filename="voxdash-calls_status-completed_created_after-2026-11-21_{today}.csv"'
    )
    rows = read_csv(response)
    assert list(rows[0]) == list(export.COLUMNS)
    c05 = next(r for r in rows if r["id"] == "c05")
    assert c05["created_at"] == "2026-11-21T14:00:00+01:00"  # Lagos time, with its offset
    assert c05["started_at"] == "2026-11-21T14:00:00+01:00" and c05["ended_at"] == ""
    assert c05["customer_phone"] == "+2348030000004" and c05["duration_seconds"] == "300"


def test_formula_injection_is_neutralised(viewer_client, db):
    dangerous = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "=1+2"]
    Call.objects.bulk_create(
        Call(
            vox_id=f"f{n}",
            direction="inbound",
            status="completed",
            customer_name=name,
            customer_phone=["+2348012345678", "=1+2", "08012345678", "+1", "-5", "@x", "+44 20 7946 0958"][n],
            created_at=datetime(2026, 11, 20, 9, n, tzinfo=UTC),
            failure_reason="=cmd|' /C calc'!A0",
        )
        for n, name in enumerate(dangerous)
    )
    rows = {r["id"]: r for r in read_csv(viewer_client.get(URL))}
    for n, name in enumerate(dangerous):
        assert rows[f"f{n}"]["customer_name"] == "'" + name
        assert rows[f"f{n}"]["failure_reason"] == "'=cmd|' /C calc'!A0"
    phones = [rows[f"f{n}"]["customer_phone"] for n in range(7)]
    # E.164 stays as-is (a pure phone number is not a formula); a national number becomes E.164;
    # anything else that starts like a formula gets the apostrophe.
    assert phones == ["+2348012345678", "'=1+2", "+2348012345678", "'+1", "'-5", "'@x", "+442079460958"]
    for row in rows.values():
        for value in row.values():
            assert not value.startswith(("=", "@", "-", "\t", "\r")), value
            assert not value.startswith("+") or export.E164.fullmatch(value), value


def test_bad_filters_are_dropped_as_on_the_page(viewer_client, call_set):  # noqa: F811
    response = viewer_client.get(
        URL, {"status": "<not a status>", "created_after": "2026-11-22", "created_before": "2026-11-20"}
    )
    assert response.status_code == 200
    assert len(read_csv(response)) == 12  # everything: each bad filter was ignored, like the page does


def test_streams_in_chunks(monkeypatch, call_set):  # noqa: F811
    monkeypatch.setattr(export, "CHUNK_ROWS", 5)
    chunks = list(export.csv_chunks(Call.objects.order_by("-created_at", "-id")))
    assert len(chunks) == 3  # 12 rows: 5 + 5 + 2, the header travelling with the first
    assert sum(c.count("\r\n") for c in chunks) == 13


def test_filename_is_safe():
    name = export.export_filename(
        CallFilters(search='a/b"; rm -rf', created_after=date(2026, 11, 1), status=None), date(2026, 11, 24)
    )
    assert name == "voxdash-calls_search-ab-rm-rf_created_after-2026-11-01_2026-11-24.csv"


def test_export_link_says_where_it_reads(viewer_client, synced):
    body = viewer_client.get(LIST_URL, {"status": "failed"}).content.decode()
    assert (
        f'href="{URL}?status=failed"' in body and "Every page of these filters, from the local copy" in body
    )


def test_empty_mirror_is_announced_next_to_the_button(viewer_client, db):
    body = viewer_client.get(LIST_URL).content.decode()
    assert "which is empty" in body
