"""The history as CSV: every row of the current filters, streamed in constant memory.

Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return, which some strip
first) as a formula, and a customer's name is whatever a caller typed: such cells get a leading
apostrophe, which spreadsheets show as text. A phone number in E.164 ("+2348012345678") starts
with "+" but is no formula, and finance wants it as-is, so the phone column keeps exactly that shape.
"""

import csv
import functools
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, tzinfo

from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify

from voxdash.lib.formatting import phone_e164
from voxdash.lib.spreadsheet import neutralise

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


def csv_chunks(calls) -> Iterator[str]:
    """The CSV text of a queryset of calls, header first, a piece per CHUNK_ROWS rows.

    `.iterator()` reads the rows in chunks (a server-side cursor on PostgreSQL), so memory stays
    flat however many calls match.
    """
    rows = calls.values_list(*FIELDS).iterator(chunk_size=CHUNK_ROWS)
    # Looked up once: timezone.localtime() per cell costs a thread-local lookup, a third of the time.
    yield from _encode(rows, timezone.get_current_timezone())


def _encode(rows: Iterable[tuple], tz: tzinfo) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for count, row in enumerate(rows, start=1):
        writer.writerow(csv_row(row, tz))
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_filename(filters: CallFilters, today: date) -> str:
    """voxdash-calls_status-failed_created_after-2026-11-01_2026-11-24.csv: what and when."""
    parts = ["voxdash-calls"]
    for name, value in filters.hidden_inputs():
        text = slugify(value)[:40]  # dates (YYYY-MM-DD) come through unchanged
        if text:
            parts.append(f"{name}-{text}")
    parts.append(today.isoformat())
    return "_".join(parts) + ".csv"
