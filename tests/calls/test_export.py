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
    assert sum(c.count(b"\r\n") for c in chunks) == 13
    assert chunks[0].startswith(b"id,created_at,")


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


# --- PostgreSQL writes the CSV itself (COPY): the same bytes as the Python path ----------------

# Whatever a caller may type, and what a spreadsheet would run, split, or show differently.
HOSTILE_TEXTS = [
    "",
    " ",
    "Adaeze Okonkwo",
    "O'Brien",
    "Smith, John",
    'Say "hi"',
    '"',
    '""',
    "line\nbreak",
    "carriage\rreturn",
    "both\r\nends",
    "\n",
    "=1+2",
    '=HYPERLINK("http://evil","x")',
    "+1",
    "-2+3",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
    " =after a space",
    "'already quoted",
    "Zoë Müller",
    "Fúnmiláyọ̀ Adébáyọ̀",
    "日本語の名前",
    "🙂 emoji",
    "back\\slash",
    "\\.",
    'a,b,"c"\n=d',
    "trailing space ",
    "semi;colon\ttab inside",
    "\u2028line separator",
    "\x0bvertical tab",
    "\x01control",
    "NULL",
    "x" * 200,
]
HOSTILE_PHONES = [
    "",
    "+2348012345678",
    "+12345678",  # 8 digits: the shortest E.164 the rule takes
    "+123456789012345",  # 15: the longest
    "+1234567",  # 7: too short for the rule
    "+1234567890123456",  # 16: too long
    "08012345678",  # national, read as VOX_DEFAULT_REGION's
    "0801 234 5678",
    "+44 20 7946 0958",
    "+234-801-234-5678",
    "=1+2",
    "+1",
    "-5",
    "@x",
    "+٢٣٤٨٠١٢٣٤٥٦٧٨",  # Arabic-Indic digits: \\d in Python, not [0-9]
    "+234801234567８",  # a fullwidth digit
    "+2348012345678 ",
    " +2348012345678",
    "+1+2345678901",
    "+\n12345678",
    "+2348012345678\n",
    "not a number",
]
UTC_TIMES = [
    datetime(2026, 11, 21, 13, 0, tzinfo=UTC),
    datetime(2026, 11, 21, 13, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 11, 21, 13, 0, 0, 123000, tzinfo=UTC),  # trailing zeros stay: .123000
    datetime(2026, 11, 21, 13, 0, 0, 500000, tzinfo=UTC),
    # The database writes times of 1 to 5 digits of microseconds one way, others another.
    datetime(2026, 11, 21, 13, 0, 0, 10, tzinfo=UTC),
    datetime(2026, 11, 21, 13, 0, 0, 123450, tzinfo=UTC),
    datetime(2026, 11, 21, 13, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 11, 21, 23, 59, 59, 999999, tzinfo=UTC),
    # Either side of daylight-saving changes: Europe, North America, Lord Howe's half hour.
    datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    datetime(2026, 4, 4, 14, 59, tzinfo=UTC),
    datetime(2026, 4, 4, 15, 1, tzinfo=UTC),
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    datetime(2026, 10, 3, 16, 30, tzinfo=UTC),
    # Offsets with seconds (local mean time) and the end of the last of them (Monrovia, 1972).
    datetime(1900, 1, 1, 12, 0, 0, 250000, tzinfo=UTC),
    datetime(1970, 6, 1, 8, 15, tzinfo=UTC),
    datetime(1972, 1, 6, 23, 59, 59, tzinfo=UTC),
    datetime(1972, 1, 7, 1, 0, tzinfo=UTC),
    datetime(1972, 2, 1, 0, 0, tzinfo=UTC),
    datetime(999, 6, 1, 12, 0, tzinfo=UTC),
    datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]
# A DST zone each side of Greenwich, :30 and :45 offsets (one with DST of half an hour), local mean
# time (Lagos before 1919, Monrovia's -0:44:30 until 1972), the extremes of the day line.
ZONES = [
    "UTC",
    "Africa/Lagos",
    "Europe/London",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Pacific/Chatham",
    "Africa/Monrovia",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
]


def postgresql_only():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://…")


@pytest.fixture
def hostile_calls(db):
    """Every hostile text in every text column, every phone, every time, NULLs, in one mirror."""
    texts, phones, times = HOSTILE_TEXTS, HOSTILE_PHONES, UTC_TIMES
    count = max(len(texts), len(phones), len(times)) * 3
    Call.objects.bulk_create(
        Call(
            # The id must stay unique: a hostile text with the row number after it.
            vox_id=f"{texts[(n * 7) % len(texts)][:50]}{n}" if n % 3 else f"c{n:03}",
            direction=["inbound", "outbound", "=x", "", "-"][n % 5],
            status=["completed", "failed", "@busy", "", "+1"][n % 5],
            customer_name=texts[n % len(texts)],
            customer_phone=phones[n % len(phones)],
            duration_seconds=[None, 0, 1, 59, 3600, 2147483647][n % 6],
            created_at=times[n % len(times)],
            started_at=None if n % 4 == 0 else times[(n * 5) % len(times)],
            ended_at=None if n % 3 == 0 else times[(n * 11) % len(times)],
            failure_reason=texts[(n * 3) % len(texts)],
            recording_url=["", "https://rec.example/a.mp3?x=1,2", texts[(n * 13) % len(texts)]][n % 3],
        )
        for n in range(count)
    )
    return Call.objects.order_by("-created_at", "-id")


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ZONES)
def test_postgresql_writes_the_python_paths_bytes(hostile_calls, zone, monkeypatch):
    postgresql_only()
    from zoneinfo import ZoneInfo

    monkeypatch.setattr(export, "CHUNK_ROWS", 7)  # pieces end mid-way through the odd rows too
    python = b"".join(export._python_chunks(hostile_calls, ZoneInfo(zone)))
    copied = b"".join(export._copy_chunks(hostile_calls, zone))
    assert python.count(b"\r\n") > len(UTC_TIMES) * 3  # the rows are there, and CRLF-ended
    assert copied.decode().splitlines(keepends=True) == python.decode().splitlines(keepends=True)
    assert copied == python


@pytest.mark.postgres
def test_postgresql_export_needs_no_python_rows(viewer_client, hostile_calls, monkeypatch, settings):
    # Through the view, in the configured zone: the file comes from COPY, and is the Python one.
    postgresql_only()
    from zoneinfo import ZoneInfo

    settings.TIME_ZONE = "America/St_Johns"
    expected = b"".join(export._python_chunks(hostile_calls, ZoneInfo("America/St_Johns")))

    def refuse(*args, **kwargs):
        raise AssertionError("the Python path ran on PostgreSQL")

    monkeypatch.setattr(export, "_python_chunks", refuse)
    response = viewer_client.get(URL)
    assert b"".join(response.streaming_content) == expected


@pytest.mark.postgres
def test_postgresql_export_leaves_the_connection_as_it_found_it(hostile_calls, monkeypatch):
    postgresql_only()
    from django.db import connection

    def zone():
        with connection.cursor() as cursor:
            cursor.execute("SHOW TimeZone")
            return cursor.fetchone()[0]

    monkeypatch.setattr(export, "CHUNK_ROWS", 5)
    b"".join(export._copy_chunks(hostile_calls, "Asia/Kathmandu"))
    assert zone() == "UTC"
    # A download abandoned after its first piece: the COPY is cancelled, the zone undone, and
    # the connection answers the next query.
    chunks = export._copy_chunks(hostile_calls, "Asia/Kathmandu")
    assert next(chunks).startswith(b"id,created_at,")
    chunks.close()
    assert zone() == "UTC" and Call.objects.count() == hostile_calls.count()


@pytest.mark.postgres
def test_postgresql_error_part_way_through_the_copy_is_raised(hostile_calls, monkeypatch):
    # The rows are read from libpq directly until it reports the COPY's end, whose result is
    # then read by export.py itself: a query that fails after some rows must still raise, and
    # leave the connection usable.
    postgresql_only()
    import psycopg
    from django.db import connection
    from django.db.models import F, Func, IntegerField

    failing = Func(F("duration_seconds"), template="1 / (%(expressions)s - 59)", output_field=IntegerField())
    cells = list(export._COPY_CELLS)
    cells[export.FIELDS.index("duration_seconds")] = failing
    monkeypatch.setattr(export, "_COPY_CELLS", tuple(cells))
    with pytest.raises(psycopg.errors.DivisionByZero):
        b"".join(export._copy_chunks(hostile_calls, "Asia/Kathmandu"))
    with connection.cursor() as cursor:
        cursor.execute("SHOW TimeZone")
        assert cursor.fetchone()[0] == "UTC"
    assert Call.objects.count() == hostile_calls.count()


@pytest.mark.postgres
def test_postgresql_pieces_hold_whole_rows_a_piece_at_a_time(hostile_calls, monkeypatch):
    # Memory stays flat: each piece is CHUNK_ROWS whole rows (the header travels with the first),
    # ended by their "\r\n", however many newlines the names inside hold.
    postgresql_only()
    monkeypatch.setattr(export, "CHUNK_ROWS", 7)
    pieces = list(export._copy_chunks(hostile_calls, "Africa/Lagos"))
    rows = [list(csv.reader(io.StringIO(piece.decode(), newline=""))) for piece in pieces]
    assert [len(r) for r in rows] == [8] + [7] * (len(pieces) - 2) + [len(rows[-1])]
    assert rows[0][0] == list(export.COLUMNS) and 0 < len(rows[-1]) <= 7
    assert all(piece.endswith(b"\r\n") for piece in pieces)
    assert sum(len(r) for r in rows) == hostile_calls.count() + 1
