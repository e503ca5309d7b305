"""The do-not-call list: what is on it (read by the guard on every dial) and changes to it.

Numbers are stored and compared in E.164 (`voxdash.lib.formatting.phone_e164`), so "0801 234
5678" and "+234 801 234 5678" are one entry. Every addition and removal writes a
`DoNotCallChange` (who, when, why), which outlives the entry.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from voxdash.lib.formatting import phone_e164

from .models import DoNotCallChange, DoNotCallEntry

REASON_MAX = DoNotCallEntry._meta.get_field("reason").max_length
# An opt-out list is a column of numbers: 5 MB is about 200,000 of them, far more than any list
# we have seen, and small enough to read whole in a web request.
IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_MAX_ROWS = 100_000
PHONE_COLUMNS = ("phone", "customer_phone")
REASON_COLUMN = "reason"


def dnc_contains(phone: str) -> bool:
    """Whether the E.164 `phone` is on the list."""
    return DoNotCallEntry.objects.filter(phone=phone).exists()


def dnc_entry(phone: str) -> DoNotCallEntry | None:
    """The list's entry for the E.164 `phone` (for its reason), if it is on the list."""
    return DoNotCallEntry.objects.filter(phone=phone).first()


def dnc_among(phones: Iterable[str]) -> set[str]:
    """Which of these E.164 numbers are on the list (one query per thousand)."""
    phones = list(phones)
    found: set[str] = set()
    for start in range(0, len(phones), 1000):
        chunk = phones[start : start + 1000]
        found.update(DoNotCallEntry.objects.filter(phone__in=chunk).values_list("phone", flat=True))
    return found


def dnc_entries(*, search: str = "") -> QuerySet[DoNotCallEntry]:
    """The list, newest first; `search` matches the reason, or the number's digits in any form
    ("0801 234" finds +234801234…, as the call history's search does)."""
    entries = DoNotCallEntry.objects.all()
    search = search.strip()
    if not search:
        return entries
    terms = Q(reason__icontains=search)
    digits = re.sub(r"\D", "", search)
    if digits and re.fullmatch(r"[\d\s()+\-.]+", search):
        terms |= Q(phone__contains=digits)
        if digits.startswith("0") and len(digits) > 1:  # a national form: its trunk 0 is the country code
            country = phonenumbers.country_code_for_region(settings.VOX_DEFAULT_REGION)
            terms |= Q(phone__contains=f"{country}{digits[1:]}")
    return entries.filter(terms)


def dnc_recent_changes(*, limit: int = 20) -> list[DoNotCallChange]:
    return list(DoNotCallChange.objects.all()[:limit])


def _e164(phone: str) -> str:
    e164 = phone_e164(phone, settings.VOX_DEFAULT_REGION)
    if e164 is None:
        raise ValueError(f"{phone!r} is not a valid phone number")
    return e164


def _who(user) -> str:
    return user.get_username() if user is not None else ""


def dnc_add(*, phone: str, reason: str = "", user) -> tuple[DoNotCallEntry, bool]:
    """Put `phone` (any form `phone_e164` reads) on the list: (its entry, whether it is new).

    A number already listed is left as it is (its reason and who added it stay), so adding it
    again changes nothing and records nothing. ValueError when `phone` is not a valid number.
    """
    e164 = _e164(phone)
    with transaction.atomic():
        # get_or_create copes with two people adding one number at once (the unique phone).
        entry, created = DoNotCallEntry.objects.get_or_create(
            phone=e164,
            defaults={"reason": reason[:REASON_MAX], "added_by": user, "added_by_name": _who(user)},
        )
        if created:
            DoNotCallChange.objects.create(
                phone=e164,
                action=DoNotCallChange.Action.ADDED,
                reason=entry.reason,
                user=user,
                username=_who(user),
            )
    return entry, created


def dnc_remove(*, entry_id: int | None = None, phone: str | None = None, user) -> DoNotCallEntry | None:
    """Take an entry off the list (by id, or by number in any form): the entry removed, or None
    when it was not on the list (already removed, perhaps by someone else a moment ago)."""
    if (entry_id is None) == (phone is None):
        raise TypeError("dnc_remove takes entry_id or phone")
    if entry_id is not None:
        entries = DoNotCallEntry.objects.filter(pk=entry_id)
    else:
        entries = DoNotCallEntry.objects.filter(phone=_e164(phone))
    with transaction.atomic():
        entry = entries.first()
        if entry is None:
            return None
        # Two removals at once: only the one whose delete found the row records a change.
        deleted, _ = DoNotCallEntry.objects.filter(pk=entry.pk).delete()
        if not deleted:
            return None
        DoNotCallChange.objects.create(
            phone=entry.phone,
            action=DoNotCallChange.Action.REMOVED,
            reason=entry.reason,
            user=user,
            username=_who(user),
        )
    return entry


@dataclass(frozen=True)
class ImportRow:
    row: int  # the spreadsheet's row number: the header is row 1
    value: str  # the cell as it was in the file
    phone: str = ""  # E.164, when it is a number
    note: str = ""  # why it was not added


@dataclass
class ImportResult:
    added: list[ImportRow] = field(default_factory=list)
    already: list[ImportRow] = field(default_factory=list)  # on the list before, or earlier in the file
    invalid: list[ImportRow] = field(default_factory=list)
    error: str = ""  # the file could not be read: nothing was added
    columns: list[str] = field(default_factory=list)  # as found in the header


def dnc_import(*, upload, user) -> ImportResult:
    """Add every number of a CSV file (column `phone` or `customer_phone`, optional `reason`).

    Reads what spreadsheets export: UTF-8 with or without a BOM, comma, semicolon or tab, CRLF,
    quoted cells, blank lines. Numbers already listed are left as they are; rows that are not a
    valid number are reported with their row number. Either the whole file is applied or, when it
    cannot be read at all (`error`), nothing.
    """
    result = ImportResult()
    try:
        rows = _csv_rows(upload)
        header_at, header = next(((n, cells) for n, cells in rows if any(c.strip() for c in cells)), (0, []))
    except _Unreadable as exc:
        return ImportResult(error=str(exc))
    result.columns = [c.strip() for c in header]
    names = [c.strip().lower() for c in header]
    phone_at = next((names.index(c) for c in PHONE_COLUMNS if c in names), None)
    if phone_at is None:
        found = ", ".join(f"“{c}”" for c in result.columns if c) or "none"
        result.error = f"The file needs a column named phone or customer_phone; its columns are: {found}."
        return result
    reason_at = names.index(REASON_COLUMN) if REASON_COLUMN in names else None

    wanted: dict[str, tuple[ImportRow, str]] = {}  # E.164 -> (its first row, its reason)
    try:
        for number, cells in rows:
            if number - header_at > IMPORT_MAX_ROWS:
                raise _Unreadable(
                    f"The file has more than {IMPORT_MAX_ROWS:,} rows; split it and import each part."
                )
            if not any(c.strip() for c in cells):
                continue  # a blank line
            value = cells[phone_at].strip() if phone_at < len(cells) else ""
            reason = cells[reason_at].strip() if reason_at is not None and reason_at < len(cells) else ""
            e164 = phone_e164(value, settings.VOX_DEFAULT_REGION) if value else None
            if e164 is None:
                note = "no number" if not value else "not a valid phone number"
                result.invalid.append(ImportRow(number, value, note=note))
            elif e164 in wanted:
                first = wanted[e164][0].row
                result.already.append(
                    ImportRow(number, value, e164, note=f"also on row {first} of this file")
                )
            else:
                wanted[e164] = (ImportRow(number, value, e164), reason[:REASON_MAX])
    except _Unreadable as exc:
        return ImportResult(error=str(exc), columns=result.columns)

    with transaction.atomic():
        listed = dnc_among(wanted)
        new = [(row, reason) for phone, (row, reason) in wanted.items() if phone not in listed]
        result.already += [
            ImportRow(row.row, row.value, row.phone, note="already on the list")
            for phone, (row, _) in wanted.items()
            if phone in listed
        ]
        who = _who(user)
        # ignore_conflicts: a number someone adds by hand meanwhile is simply on the list.
        DoNotCallEntry.objects.bulk_create(
            [
                DoNotCallEntry(phone=row.phone, reason=reason, added_by=user, added_by_name=who)
                for row, reason in new
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        DoNotCallChange.objects.bulk_create(
            [
                DoNotCallChange(
                    phone=row.phone,
                    action=DoNotCallChange.Action.ADDED,
                    reason=reason,
                    user=user,
                    username=who,
                )
                for row, reason in new
            ],
            batch_size=1000,
        )
    result.added = [row for row, _ in new]
    result.already.sort(key=lambda r: r.row)
    return result


class _Unreadable(Exception):
    """The file as a whole cannot be read; the message says why, for the person who chose it."""


def _csv_rows(upload):
    """(row number, cells) for each record of the CSV `upload`, blank ones included (a blank line
    is a row of the spreadsheet too, so the numbers match what the person sees)."""
    if upload.size is not None and upload.size > IMPORT_MAX_BYTES:
        raise _Unreadable(
            f"The file is larger than {IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it and import each part."
        )
    raw = upload.read(IMPORT_MAX_BYTES + 1)
    if len(raw) > IMPORT_MAX_BYTES:
        raise _Unreadable(
            f"The file is larger than {IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it and import each part."
        )
    try:
        text = raw.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError:
        raise _Unreadable(
            'The file is not UTF-8 text. Save it as "CSV UTF-8" (Excel) or as CSV (LibreOffice, Google Sheets).'
        ) from None
    if "\x00" in text:
        raise _Unreadable("This is not a CSV file (is it an .xlsx? Save it as CSV first).")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    # The header says which separator the file uses: Excel in many locales writes semicolons.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return _numbered(reader)


def _numbered(reader):
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except csv.Error as exc:
        raise _Unreadable(f"Row {reader.line_num} cannot be read as CSV ({exc}).") from None
