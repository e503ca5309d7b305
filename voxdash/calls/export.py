"""The history as CSV: every row of the current filters, streamed in constant memory.

Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return, which some strip
first) as a formula, and a customer's name is whatever a caller typed: such cells get a leading
apostrophe, which spreadsheets show as text. A phone number in E.164 ("+2348012345678") starts
with "+" but is no formula, and finance wants it as-is, so the phone column keeps exactly that shape.

Two ways to the same bytes. The Python path (`_python_chunks`: csv.writer over the rows) is the
definition and what SQLite uses. On PostgreSQL, `_copy_chunks` has the database write the cells
and the CSV itself (`COPY (SELECT …) TO STDOUT`), ~5× faster at a million rows; a test compares
the two byte for byte over hostile text and many time zones (tests/calls/test_export.py).
"""

import csv
import functools
import io
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from datetime import date, datetime, tzinfo

import psycopg
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Func, IntegerField, QuerySet, TextField
from django.utils import timezone
from django.utils.text import slugify
from psycopg import generators, pq

from voxdash.lib.formatting import phone_e164
from voxdash.lib.spreadsheet import FORMULA_STARTS, neutralise

from .filters import CallFilters

COLUMNS = (
    "id",
    "created_at",
    "direction",
    "status",
    "customer_name",
    "customer_phone",
    "duration_seconds",
    "started_at",
    "ended_at",
    "failure_reason",
    "recording_url",
)
# The mirror's fields, in COLUMNS order: the same names, but Vox's id is `vox_id` here.
FIELDS = ("vox_id", *COLUMNS[1:])
CHUNK_ROWS = 2000  # rows per database fetch and per piece of the response

E164 = re.compile(r"\+\d{8,15}")


def csv_chunks(calls: QuerySet) -> Iterator[bytes]:
    """The CSV of a queryset of calls (UTF-8), header first, a piece per CHUNK_ROWS rows.

    Rows are read a chunk at a time (a server-side cursor, or COPY's stream, on PostgreSQL), so
    memory stays flat however many calls match.
    """
    tz = timezone.get_current_timezone()
    if connections[calls.db].vendor == "postgresql" and isinstance(tz, zoneinfo.ZoneInfo) and tz.key:
        # The database converts times by the zone's name: only a named ZoneInfo has one both
        # read from the same tz database (a fixed offset's "UTC+05:00" is POSIX, sign reversed).
        return _copy_chunks(calls, tz.key)
    return _python_chunks(calls, tz)


# --- The Python path: the definition of every cell ---------------------------------------------


@functools.lru_cache(maxsize=65_536)  # a million calls share far fewer numbers; parsing is ~50 µs
def phone_cell(value: str) -> str:
    """E.164 when the number can be read as one, else the text as stored (neutralised)."""
    if E164.fullmatch(value):
        return value
    return phone_e164(value, settings.VOX_DEFAULT_REGION) or neutralise(value)


def time_cell(value: datetime | None, tz: tzinfo) -> str:
    # ISO 8601 with the offset of TIME_ZONE, the zone the pages show.
    return value.astimezone(tz).isoformat() if value else ""


def csv_row(row: tuple, tz: tzinfo) -> list:
    vox_id, created, direction, status, name, phone, duration, started, ended, reason, recording = row
    return [
        neutralise(vox_id),
        time_cell(created, tz),
        neutralise(direction),
        neutralise(status),
        neutralise(name),
        phone_cell(phone) if phone else "",
        "" if duration is None else duration,
        time_cell(started, tz),
        time_cell(ended, tz),
        neutralise(reason),
        neutralise(recording),
    ]


def _python_chunks(calls: QuerySet, tz: tzinfo) -> Iterator[bytes]:
    # `tz` is looked up once: timezone.localtime() per cell costs a thread-local lookup, a third
    # of the time.
    rows = calls.values_list(*FIELDS).iterator(chunk_size=CHUNK_ROWS)
    yield from _encode(rows, tz)


def _encode(rows: Iterable[tuple], tz: tzinfo) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for count, row in enumerate(rows, start=1):
        writer.writerow(csv_row(row, tz))
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


# --- The PostgreSQL path: the same cells, written by the database ------------------------------
#
# COPY … (FORMAT csv) quotes exactly as csv.writer's QUOTE_MINIMAL does for rows of several
# columns (a field holding a comma, a quote, CR or LF; quotes doubled), writes NULL as an empty
# field and an empty string as "" (hence NULLIF(…, '') on every text), and ends each row with
# "\n" where csv.writer writes "\r\n". Each row arrives alone (COPY sends one message per row),
# so the row's own last byte is the line end to swap, whatever newlines a name holds.
# Per cell:
#   text   neutralise(): the apostrophe when the first character is one of FORMULA_STARTS;
#   times  isoformat() in the request's zone (the transaction's TimeZone): microseconds only when
#          not zero, the offset as ±HH:MM; offsets with seconds (local mean time) only occur
#          before 1972 (the last, Africa/Monrovia's -0:44:30, ended on 7 January 1972), and get
#          the slower exact formula. From 1972 on, to_jsonb(time) is the ISO form isoformat()
#          writes, as a JSON string, except that it drops the trailing zeros of the microseconds
#          (.123400 as .1234): those times (one in ten of random microseconds) get to_char;
#   phone  E.164 (ASCII "+" and 8–15 digits) as stored; any other number is flagged in a
#          twelfth column and that row goes through phone_cell() in Python (rare: Vox and the
#          placements store E.164).

# ord() takes one character: a formula start of two would fail here rather than be missed.
_FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_STARTS)
assert all(ord(start) <= 64 for start in FORMULA_STARTS)  # _TextCell's first test relies on it
_LOCAL_TIME = 'YYYY-MM-DD"T"HH24:MI:SS.US'
_MEAN_TIME_BEFORE = "1972-02-01 00:00:00+00"


class _TextCell(Func):
    # No formula starts above "@" (64), so a cell that starts with a letter (most) needs one test,
    # not the IN list (callgrind: ~500 instructions less a cell).
    template = (
        "CASE WHEN ascii(%(expressions)s) > 64 THEN %(expressions)s "
        f"WHEN ascii(%(expressions)s) IN ({_FORMULA_CODES}) THEN '''' || %(expressions)s "
        "ELSE NULLIF(%(expressions)s, '') END"
    )
    output_field = TextField()


class _TimeCell(Func):
    # Three ways, cheapest last (callgrind, a cell: to_char ~6,100 instructions, to_jsonb ~3,800):
    #   before 1972: to_char's local time, whose "SS.US" always has six digits (replace() drops
    #     ".000000", which isoformat() leaves out), and the offset from extract(timezone), with
    #     its seconds when it has some;
    #   1 to 5 digits of microseconds (rounded to 5 digits the time is the same, to 0 it is not):
    #     to_char, six digits;
    #   else (no microseconds, six digits, or NULL, which to_jsonb keeps): the text of to_jsonb's
    #     string (#>> '{}', the text without quotes: cheaper than replace() on to_json's).
    _offset = "extract(timezone FROM %(expressions)s)::int"
    template = (
        f"CASE WHEN %(expressions)s < '{_MEAN_TIME_BEFORE}' "
        f"THEN replace(to_char(%(expressions)s, '{_LOCAL_TIME}'), '.000000', '') "
        f"|| CASE WHEN {_offset} < 0 THEN '-' ELSE '+' END "
        f"|| to_char(make_interval(secs => abs({_offset})), 'HH24:MI') "
        f"|| CASE WHEN mod({_offset}, 60) <> 0 "
        f"THEN to_char(make_interval(secs => abs({_offset})), ':SS') ELSE '' END "
        "WHEN %(expressions)s::timestamptz(5) = %(expressions)s "
        "AND %(expressions)s::timestamptz(0) <> %(expressions)s "
        f"THEN to_char(%(expressions)s, '{_LOCAL_TIME}TZH:TZM') "
        "ELSE to_jsonb(%(expressions)s) #>> '{}' END"
    )
    output_field = TextField()


class _NotE164(Func):
    # 1 for a number that is neither empty nor E.164. Tested on the bytes: PostgreSQL's regular
    # expressions cost ~1 µs a row here, these few byte functions a quarter of that. The bytes
    # are textsend()'s, the text in the client's encoding: UTF-8, as Django's connections set it
    # (callgrind: ~750 instructions a row less than convert_to(…, 'UTF8'), which checks them).
    template = (
        "CASE WHEN octet_length(%(expressions)s) BETWEEN 9 AND 16 AND ascii(%(expressions)s) = 43 "
        "AND ltrim(substr(textsend(%(expressions)s), 2), '0123456789'::bytea) = ''::bytea "
        "OR %(expressions)s = '' THEN NULL ELSE 1 END"
    )
    output_field = IntegerField()


class _EmptyAsNull(Func):
    template = "NULLIF(%(expressions)s, '')"
    output_field = TextField()


_COPY_CELLS = (
    _TextCell(F("vox_id")),
    _TimeCell(F("created_at")),
    _TextCell(F("direction")),
    _TextCell(F("status")),
    _TextCell(F("customer_name")),
    _EmptyAsNull(F("customer_phone")),  # E.164 as stored; the others are replaced in Python
    F("duration_seconds"),
    _TimeCell(F("started_at")),
    _TimeCell(F("ended_at")),
    _TextCell(F("failure_reason")),
    _TextCell(F("recording_url")),
    _NotE164(F("customer_phone")),  # the flag: last, so that a row without it ends in ",\n"
)
_PHONE = COLUMNS.index("customer_phone")
_COMMA, _CR = ord(","), ord("\r")


def _copy_chunks(calls: QuerySet, zone: str) -> Iterator[bytes]:
    sql, params = calls.values_list(*_COPY_CELLS).query.sql_with_params()
    connection = connections[calls.db]
    piece = bytearray(_header())
    left = CHUNK_ROWS
    # A transaction for SET LOCAL: the zone is undone with it, also when the download is
    # abandoned (psycopg cancels the COPY, the block rolls back).
    with transaction.atomic(using=calls.db), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            # psycopg's copy.read() drives a Python generator for each row; libpq's own
            # PQgetCopyData (pgconn.get_copy_data), asked not to wait, hands out a row it already
            # holds for ~5,000 instructions less (callgrind; the whole export ~7,800 a row). So
            # rows come from libpq while it has them; when it has none, psycopg waits for more
            # (socket, timeouts, Ctrl-C) and may meet the COPY's end itself.
            received = cursor.connection.pgconn.get_copy_data
            while True:
                size, row = received(1)  # 1: don't wait; 0 when no whole row is there yet
                if size == 0:
                    row = copy.read()  # waits; b"" once the COPY is over (an error raises)
                    if not row:
                        break
                elif size < 0:
                    # libpq saw the COPY end: read its result, as psycopg's copy.read() would.
                    _end_of_copy(cursor.connection)
                    break
                # An unflagged row ends in ",\n", the empty flag's comma and COPY's line end:
                # the comma made "\r" ends it as csv.writer does, "\r\n", without the flag.
                if row[-2] == _COMMA:
                    piece += row
                    piece[-2] = _CR
                else:
                    piece += _phone_fixed(row)
                left -= 1
                if not left:
                    yield bytes(piece)
                    piece.clear()
                    left = CHUNK_ROWS
        # Inside an outer transaction (a test's), the zone would outlive this block: put it back.
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [connection.timezone_name])
    if piece:
        yield bytes(piece)


def _end_of_copy(connection) -> None:
    """After libpq's last row: the COPY's own result, read (and an error raised) as psycopg's
    copy_from() does when it meets the end itself."""
    [result] = connection.wait(generators.fetch_many(connection.pgconn))
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(result, encoding=connection.info.encoding)


def _header() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(COLUMNS)
    return buffer.getvalue().encode()


def _phone_fixed(row) -> bytes:
    """A flagged row with phone_cell() in its phone column, re-written by csv.writer (which
    quotes as COPY does), without the flag."""
    (cells,) = csv.reader(io.StringIO(bytes(row).decode(), newline=""))
    cells[_PHONE] = phone_cell(cells[_PHONE])
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells[:-1])
    return buffer.getvalue().encode()


def export_filename(filters: CallFilters, today: date) -> str:
    """voxdash-calls_status-failed_created_after-2026-11-01_2026-11-24.csv: what and when."""
    parts = ["voxdash-calls"]
    for name, value in filters.hidden_inputs():
        text = slugify(value)[:40]  # dates (YYYY-MM-DD) come through unchanged
        if text:
            parts.append(f"{name}-{text}")
    parts.append(today.isoformat())
    return "_".join(parts) + ".csv"
