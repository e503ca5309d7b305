"""A campaign before it starts: created from the form and its file, and the preview of what it
would dial.

`campaign_create` reads the file once, as it streams (`voxdash.lib.sheets`), and writes one `CampaignRow`
per data row in batches, each already judged on its own: a valid phone number (national numbers
read as `VOX_DEFAULT_REGION`'s), a value for every column the context names, a context within the
API's limit. What needs the other rows or the do-not-call list is then settled in SQL, a statement
each, so memory stays flat however long the file: a number already on an earlier row is a
duplicate of it (the first usable row is the one dialled), a number on the do-not-call list is
skipped. Nothing here dials: a draft creates no `PlacedCall`.

The context is a template: `{column}` is that row's cell (column names in any case), `{{` and `}}`
are braces of their own.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Now
from django.http import HttpRequest
from django.utils import timezone

from voxdash.audit.log import Action, audit_record
from voxdash.directory.models import DoNotCallEntry
from voxdash.lib.formatting import phone_e164
from voxdash.lib.sheets import Sheet, SheetError, SheetRow, sheet_of_rows, sheet_open
from voxdash.placements.forms import CONTEXT_MAX, NAME_MAX

from .models import SKIPPED_ROW_STATES, Campaign, CampaignEvent, CampaignRow

BATCH = 1000
PROBLEMS_SHOWN = 100
EXAMPLES_SHOWN = 3

# Reasons a row is skipped, as its page and rows.csv show them. A row lacking values starts with
# MISSING_VALUES: the preview counts those rows by it.
MISSING_VALUES = "no value for "
NO_PHONE = "no phone number"
ON_DO_NOT_CALL = "on the do-not-call list"
SAME_NUMBER = "same number as row "
# Excel writes a long number in a General column as 2.34801E+12 in its CSVs: the digits are gone.
_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?E\+\d+$", re.IGNORECASE)

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass
class Preview:
    rows_read: int
    valid: int
    invalid: int
    duplicates: int
    do_not_call: int
    missing_values: int  # rows whose template names a column they lack (empty cell); also invalid
    examples: list[str]  # up to three rendered contexts, from the first valid rows
    problems: list[CampaignRow]  # up to 100 skipped rows, in row order, each with .reason


@functools.lru_cache(maxsize=64)
def _template_parse(template: str) -> tuple[tuple[str, str | None], ...]:
    """The template as (literal text, column name or None) pieces; ValueError says what is wrong."""
    pieces: list[tuple[str, str | None]] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(template):
        literal.append(template[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
        elif token == "{":
            raise ValueError("The context has a “{” without its “}”: write {{ for a brace of its own.")
        elif token == "}":
            raise ValueError(
                "The context has a “}” without a “{” before it: write }} for a brace of its own."
            )
        elif not (name := match.group(1).strip()):
            raise ValueError("The context has an empty {}: put a column's name inside, e.g. {customer_name}.")
        else:
            pieces.append(("".join(literal), name))
            literal = []
    literal.append(template[position:])
    pieces.append(("".join(literal), None))
    return tuple(pieces)


def template_columns(template: str) -> list[str]:
    """The columns the template names, as it writes them, each once (in any case).
    ValueError for a template that cannot be read (a lone brace, an empty {})."""
    names: dict[str, str] = {}
    for _, name in _template_parse(template):
        if name is not None:
            names.setdefault(name.lower(), name)
    return list(names.values())


def context_render(template: str, cells: dict[str, str]) -> tuple[str, list[str]]:
    """The template filled from one row's cells, and the columns it names whose cell is empty or
    absent (each once, as the template writes it); those are left empty in the text."""
    by_lower = {key.strip().lower(): value for key, value in cells.items()}
    text: list[str] = []
    missing: dict[str, str] = {}
    for literal, name in _template_parse(template):
        text.append(literal)
        if name is not None:
            value = (by_lower.get(name.lower()) or "").strip()
            if not value:
                missing.setdefault(name.lower(), name)
            text.append(value)
    return "".join(text), list(missing.values())


def campaign_create(
    *, user, fields: dict, upload, filename: str, request: HttpRequest | None = None
) -> Campaign:
    """A draft campaign, its rows, its CREATED event and its audit entry (`request`, when there is
    one, gives the entry its address), from the form's `fields` (Campaign field values) and the
    uploaded file. SheetError, and nothing created, when the file cannot be used (found out before
    anything is written, or part-way: it is all one transaction)."""
    with sheet_open(upload, filename=filename) as sheet:
        return _draft_create(user=user, fields=fields, sheet=sheet, filename=filename, request=request)


def campaign_create_from_rows(
    *, user, fields: dict, rows: list[dict[str, object]], request: HttpRequest | None = None
) -> Campaign:
    """The same draft from rows sent as data (the API's JSON: column name -> value), judged as a
    file's rows are; row n is the list's n-th. SheetError, and nothing created, as for a file."""
    with sheet_of_rows(rows) as sheet:
        return _draft_create(user=user, fields=fields, sheet=sheet, filename="", request=request)


def _draft_create(
    *, user, fields: dict, sheet: Sheet, filename: str, request: HttpRequest | None
) -> Campaign:
    _columns_check(fields["context_template"], sheet)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            **fields,
            created_by=user,
            created_by_name=user.get_username(),
            file_name=filename[-255:],
            columns=sheet.columns,
        )
        campaign.rows_read = _rows_write(campaign, sheet)
        campaign.save(update_fields=["rows_read"])
        _do_not_call_mark(campaign)
        _duplicates_mark(campaign)
        CampaignEvent.objects.create(
            campaign=campaign,
            action=CampaignEvent.Action.CREATED,
            user=user,
            username=user.get_username(),
            note=f"From {filename or 'rows sent to the API'}: {campaign.rows_read:,} rows",
        )
        audit_record(
            action=Action.CAMPAIGN_CREATED,
            request=request,
            user=user,
            target=campaign,
            detail={"rows": campaign.rows_read, "file": campaign.file_name},
        )
    return campaign


def _rows_write(campaign: Campaign, sheet: Sheet) -> int:
    """Every data row of the sheet, judged and written a batch at a time; how many."""
    writer = _RowWriter(campaign)
    count = 0
    batch: list[tuple] = []
    for row in sheet.rows():
        batch.append(_row_judge(campaign, sheet, row))
        if len(batch) == BATCH:
            count += writer.write(batch)
            batch = []
    count += writer.write(batch)
    if not count:
        raise SheetError("The file has a header but no rows below it: there is no one to call.")
    return count


def _columns_check(template: str, sheet: Sheet) -> None:
    """Every column the context names must be in the file's header: else no row could be right."""
    present = {column.lower() for column in sheet.columns}
    unknown = [name for name in template_columns(template) if name.lower() not in present]
    if unknown:
        named = " and ".join(f"{{{name}}}" for name in unknown)
        which = "which is not a column" if len(unknown) == 1 else "which are not columns"
        found = ", ".join(f"“{column}”" for column in sheet.columns)
        raise SheetError(f"The context names {named}, {which} of this file. Its columns: {found}.")


def _row_judge(campaign: Campaign, sheet: Sheet, row: SheetRow) -> tuple:
    """One row judged on its own, as _RowWriter's JUDGED values: INVALID with every reason that
    applies, else PENDING."""
    written = row.cells[sheet.phone_column]
    context, missing = context_render(campaign.context_template, row.cells)
    problems = []
    if missing:  # first: the preview counts these rows by the reason's start
        problems.append(MISSING_VALUES + ", ".join(missing))
    phone = phone_e164(written, settings.VOX_DEFAULT_REGION) if written else None
    if not written:
        problems.append(NO_PHONE)
    elif phone is None:
        problem = f"not a valid phone number: '{_clip(written, 80)}'"
        if _SCIENTIFIC.match(written):
            problem += " (the spreadsheet shortened it: format the column as Text and export again)"
        problems.append(problem)
    if len(context) > CONTEXT_MAX:
        problems.append(f"the context is {len(context):,} characters; the limit is {CONTEXT_MAX:,}")
    return (
        row.number,
        phone or written[:64],
        row.cells[sheet.name_column][:NAME_MAX] if sheet.name_column else "",
        row.cells,
        context,
        CampaignRow.State.INVALID if problems else CampaignRow.State.PENDING,
        _clip("; ".join(problems), 255),
    )


class _RowWriter:
    """Writes a campaign's rows a batch at a time: COPY on PostgreSQL, executemany on SQLite.

    Not bulk_create: building a model instance and its SQL per row took two thirds of a
    100,000-row file's time (and psycopg's client-side binding makes long multi-row INSERTs
    slower still). The columns are still the model's: those not judged per row get their field's
    default (updated_at: now), prepared by the field for this database.
    """

    JUDGED = ("number", "customer_phone", "customer_name", "cells", "context", "state", "reason")

    def __init__(self, campaign: Campaign):
        meta = CampaignRow._meta
        judged = [meta.get_field(name) for name in self.JUDGED]
        rest = [
            f for f in meta.concrete_fields if not f.primary_key and f not in judged and f.name != "campaign"
        ]
        now = timezone.now()
        self._rest = tuple(
            f.get_db_prep_save(now if getattr(f, "auto_now", False) else f.get_default(), connection)
            for f in rest
        )
        self._campaign_id = campaign.pk
        self._cells = meta.get_field("cells")
        columns = [meta.get_field("campaign"), *judged, *rest]
        names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
        table = connection.ops.quote_name(meta.db_table)
        self._copy = f"COPY {table} ({names}) FROM STDIN"
        self._insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"

    def write(self, rows: list[tuple]) -> int:
        prep = self._cells.get_db_prep_save
        values = [(self._campaign_id, *r[:3], prep(r[3], connection), *r[4:], *self._rest) for r in rows]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(self._copy) as copy:
                    for value in values:
                        copy.write_row(value)
            else:
                cursor.executemany(self._insert, values)
        return len(rows)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _do_not_call_mark(campaign: Campaign) -> None:
    """Rows whose number is on the do-not-call list: skipped, in one statement."""
    listed = DoNotCallEntry.objects.filter(phone=OuterRef("customer_phone"))
    campaign.rows.filter(state=CampaignRow.State.PENDING).filter(Exists(listed)).update(
        state=CampaignRow.State.DO_NOT_CALL, reason=ON_DO_NOT_CALL, updated_at=Now()
    )


def _duplicates_mark(campaign: Campaign) -> None:
    """A number already on an earlier usable row: that earlier row is dialled, this one skipped
    and names it. One statement that sorts the campaign's usable rows by number once (a window
    over each phone), rather than a correlated look-up per row, which SQLite's planner answers by
    scanning every earlier row: 14 s for 10,000 rows. UPDATE … FROM: PostgreSQL, SQLite >= 3.33
    (Django needs 3.37)."""
    table = connection.ops.quote_name(CampaignRow._meta.db_table)
    pending = CampaignRow.State.PENDING
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET state = %s, reason = %s || CAST(d.first_number AS TEXT), updated_at = %s
            FROM (
                SELECT id, number, MIN(number) OVER (PARTITION BY customer_phone) AS first_number
                FROM {table} WHERE campaign_id = %s AND state = %s
            ) AS d
            WHERE {table}.id = d.id AND d.number > d.first_number
            """,
            [CampaignRow.State.DUPLICATE, SAME_NUMBER, timezone.now(), campaign.pk, pending],
        )


def campaign_preview(*, campaign: Campaign) -> Preview:
    """What the campaign would dial and what it skips, and why (three queries)."""
    states = CampaignRow.State
    counts = campaign.rows.aggregate(
        total=Count("id"),
        invalid=Count("id", filter=Q(state=states.INVALID)),
        duplicates=Count("id", filter=Q(state=states.DUPLICATE)),
        do_not_call=Count("id", filter=Q(state=states.DO_NOT_CALL)),
        missing_values=Count("id", filter=Q(state=states.INVALID, reason__startswith=MISSING_VALUES)),
    )
    skipped = counts["invalid"] + counts["duplicates"] + counts["do_not_call"]
    usable = campaign.rows.exclude(state__in=SKIPPED_ROW_STATES).order_by("number")
    return Preview(
        rows_read=campaign.rows_read,
        valid=counts["total"] - skipped,
        invalid=counts["invalid"],
        duplicates=counts["duplicates"],
        do_not_call=counts["do_not_call"],
        missing_values=counts["missing_values"],
        examples=list(usable.values_list("context", flat=True)[:EXAMPLES_SHOWN]),
        problems=list(campaign.rows.filter(state__in=SKIPPED_ROW_STATES).order_by("number")[:PROBLEMS_SHOWN]),
    )
