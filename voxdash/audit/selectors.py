"""Reads of the audit log: which entries (`AuditFilters`), newest first, a page of them as /audit/
shows it (`audit_page`), and their CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.safestring import SafeString

from voxdash.lib.formatting import Moment, local_day_start, moment
from voxdash.lib.paging import CappedPage, capped_page
from voxdash.lib.querystring import QueryString
from voxdash.lib.rows import LINK_HTML, html_format, html_lines
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


ACTION_LABELS = dict(AuditEntry.Action.choices)
VIA_LABELS = dict(AuditEntry.Via.choices)
PAGE_SIZE = 50
# Beyond this many matching entries the page says "10,000+" instead of counting them all: the count
# reads every matching entry of its index (100,000 cost ~8 ms, more than the rest of the page),
# while a count that stops at the cap reads at most 10,001. The CSV export still holds every entry.
COUNT_CAP = 10_000
# From this many entries skipped, a page's ids are read from the index first (_page_entries).
DEEP_AFTER = 2_000


@dataclass(frozen=True)
class AuditRow:
    """One entry as a row of /audit/: plain values, worked out here once, which _ROW_HTML writes."""

    action: str  # the code, for the row's class
    at: Moment
    who: str  # the user name kept, "voxdash" for the workers' own entries, else ""
    who_href: str  # the link to their entries ("" when there is no user name)
    via: str  # how they came in ("Single sign-on"), "" for the web and the workers
    address: str
    what: str
    object_text: str  # the object's label, else its id, else ""
    object_url: str  # "" when there is none or the object is gone (a deletion)
    object_type: str
    detail: str


def audit_page(*, filters: AuditFilters, number: int, query: QueryDict) -> CappedPage[AuditRow]:
    """Page `number` of the entries these filters select, newest first, PAGE_SIZE a page; `query`
    is the page's query string, `request.GET` (the links keep the other filters). Two queries: a
    count that stops at COUNT_CAP + 1, and the page's rows (lib.paging.capped_page: past the last
    page, the last page)."""
    entries = audit_entries(filters=filters)
    page = capped_page(
        entries,
        number=number,
        per_page=PAGE_SIZE,
        cap=COUNT_CAP,
        query=query,
        read=lambda start, stop: _page_entries(entries, start, stop),
    )
    return replace(page, object_list=audit_rows(page.object_list, query=query))


def _page_entries(entries: QuerySet[AuditEntry], start: int, stop: int) -> list[AuditEntry]:
    """The entries from `start` to `stop` (a page, and the first of the next)."""
    if start < DEEP_AFTER:
        return list(entries[start:stop])
    # Deep: the subquery skips the entries before the page in the index alone (each order and
    # filter has an index ending in at and id: models.py) and only the page's rows are read from
    # the table, where OFFSET on whole rows reads every skipped one (page 1,000 of 100,000 entries:
    # 5.9 ms instead of 12 ms on PostgreSQL). On the first pages the plain query is cheaper.
    ids = entries.values("pk")[start:stop]
    return list(AuditEntry.objects.filter(pk__in=ids).order_by("-at", "-id"))


# The web is how most people act and the workers are named "voxdash" already: neither is said.
QUIET_VIAS = (AuditEntry.Via.WEB, AuditEntry.Via.WORKER)


def audit_rows(entries: list[AuditEntry], *, query: QueryDict) -> list[AuditRow]:
    """The entries as rows; `query` (`request.GET`) for the links to a user's entries."""
    tz = timezone.get_current_timezone()
    links = QueryString(query)
    return [
        AuditRow(
            action=entry.action,
            at=moment(entry.at, tz, seconds=True),
            who=entry.username or ("voxdash" if entry.via == AuditEntry.Via.WORKER else ""),
            who_href=links.href({"user": entry.username, "page": None}) if entry.username else "",
            via="" if entry.via in QUIET_VIAS else VIA_LABELS.get(entry.via, entry.via),
            address=entry.remote_addr,
            what=ACTION_LABELS.get(entry.action, entry.action),
            object_text=entry.object_label or entry.object_id,
            object_url="" if entry.is_deletion else entry.object_url,
            object_type=entry.object_type,
            detail=detail_words(entry.detail),
        )
        for entry in entries
    ]


# A row of /audit/, written as HTML here once a row (lib.rows says why), 50 a page.
_ROW_HTML = (
    '<tr class="audit-row audit-{action}">'
    '<td class="nowrap"><time datetime="{at_iso}">{at_text}</time></td>'
    "<td>{who}{via}</td>"
    '<td class="nowrap">{address}</td>'
    "<td>{what}</td>"
    "<td>{object}</td>"
    "<td>{detail}</td>"
    "</tr>"
)
_VIA_HTML = ' <span class="help">({via})</span>'
_OBJECT_HTML = '{label} <span class="help">{type}</span>'


def audit_rows_html(rows: list[AuditRow]) -> SafeString:
    """The table's body: _ROW_HTML for each row."""
    return html_lines(_row_html(row) for row in rows)


def _row_html(row: AuditRow) -> SafeString:
    who = html_format(LINK_HTML, url=row.who_href, text=row.who) if row.who_href else row.who or "—"
    if row.object_text:
        label = (
            html_format(LINK_HTML, url=row.object_url, text=row.object_text)
            if row.object_url
            else row.object_text
        )
        shown = html_format(_OBJECT_HTML, label=label, type=row.object_type)
    else:
        shown = "—"
    return html_format(
        _ROW_HTML,
        action=row.action,
        at_iso=row.at.iso,
        at_text=row.at.text,
        who=who,
        via=html_format(_VIA_HTML, via=row.via) if row.via else "",
        address=row.address or "—",
        what=row.what,
        object=shown,
        detail=row.detail,
    )


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
