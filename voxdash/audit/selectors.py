"""Reads of the audit log: which entries (`AuditFilters`), newest first, and their CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from voxdash.lib.formatting import local_day_start
from voxdash.lib.spreadsheet import neutralise

from .describe import detail_words
from .models import AuditEntry


@dataclass(frozen=True)
class AuditFilters:
    """None means unset. Days are whole days in the active (the viewer's) time zone, both ends
    included, as in the call history. The field names are the query string's."""

    user: str | None = None  # the user name kept on the entry (a failed sign-in's attempted one too)
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in self.params().values())

    def params(self) -> dict[str, str]:
        """The set filters as query parameters (dates YYYY-MM-DD): for links, and for the record
        of an export (what an auditor needs to say which entries left)."""
        found = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None:
                found[field.name] = value.isoformat() if isinstance(value, date) else str(value)
        return found

    def q(self) -> Q:
        q = Q()
        if self.user is not None:
            q &= Q(username=self.user)
        if self.action is not None:
            q &= Q(action=self.action)
        if self.date_from is not None:
            q &= Q(at__gte=local_day_start(self.date_from))
        if self.date_to is not None:
            q &= Q(at__lt=local_day_start(self.date_to + timedelta(days=1)))
        return q


def audit_entries(*, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The entries these filters select, newest first (each filter has its index: models.py)."""
    # No select_related: the entry keeps the user name and the object's label and link itself.
    return AuditEntry.objects.filter(filters.q()).order_by("-at", "-id")


CSV_COLUMNS = (
    "at",
    "user",
    "via",
    "address",
    "action",
    "what",
    "object_type",
    "object_id",
    "object",
    "object_url",
    "detail",
    "detail_json",
    "request_id",
)
CSV_FIELDS = (
    "at",
    "username",
    "via",
    "remote_addr",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "object_url",
    "detail",
    "request_id",
)
CSV_CHUNK_ROWS = 2000
ACTION_LABELS = dict(AuditEntry.Action.choices)
VIA_LABELS = dict(AuditEntry.Via.choices)


def audit_csv(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """The entries as CSV, header first, a piece per CSV_CHUNK_ROWS rows (flat memory: the rows
    are read in chunks, a server-side cursor on PostgreSQL). Times in the active zone, ISO 8601."""
    tz = timezone.get_current_timezone()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rows = entries.values_list(*CSV_FIELDS).iterator(chunk_size=CSV_CHUNK_ROWS)
    for count, row in enumerate(rows, start=1):
        at, username, via, address, action, object_type, object_id, label, url, detail, request_id = row
        writer.writerow(
            [
                at.astimezone(tz).isoformat(),
                neutralise(username),
                VIA_LABELS.get(via, via),
                address,
                action,
                ACTION_LABELS.get(action, action),
                neutralise(object_type),
                neutralise(object_id),
                neutralise(label),
                neutralise(url),
                neutralise(detail_words(detail)),
                json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
                request_id,
            ]
        )
        if count % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
