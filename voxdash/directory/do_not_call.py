"""The do-not-call list: what is on it (read by the guard on every dial) and changes to it.

Numbers are stored and compared in E.164 (`voxdash.lib.formatting.phone_e164`), so "0801 234
5678" and "+234 801 234 5678" are one entry. Every addition and removal writes a
`DoNotCallChange` (who, when, why), which outlives the entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse

from voxdash.audit.log import Action, Target, audit_record
from voxdash.lib.formatting import phone_display, phone_e164
from voxdash.lib.sheets import SheetError, sheet_open

from .models import DoNotCallChange, DoNotCallEntry

REASON_MAX = DoNotCallEntry._meta.get_field("reason").max_length
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


def dnc_target(phone: str) -> Target:
    """A number of the list as the audit log names it, linked to the list searched for it."""
    url = reverse("dnc:list") + "?" + urlencode({"q": phone})
    return Target(type="do-not-call entry", id=phone, label=phone_display(phone), url=url)


def dnc_add(*, phone: str, reason: str = "", user, request=None) -> tuple[DoNotCallEntry, bool]:
    """Put `phone` (any form `phone_e164` reads) on the list: (its entry, whether it is new).

    A number already listed is left as it is (its reason and who added it stay), so adding it
    again changes nothing and records nothing. ValueError when `phone` is not a valid number.
    `request`: the one it came from, for the audit log (who, from where).
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
            audit_record(
                action=Action.DNC_ADDED,
                request=request,
                user=user,
                target=dnc_target(e164),
                detail={"reason": entry.reason} if entry.reason else None,
            )
    return entry, created


def dnc_remove(
    *, entry_id: int | None = None, phone: str | None = None, user, request=None
) -> DoNotCallEntry | None:
    """Take an entry off the list (by id, or by number in any form): the entry removed, or None
    when it was not on the list (already removed, perhaps by someone else a moment ago).
    `request`: for the audit log."""
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
        audit_record(
            action=Action.DNC_REMOVED,
            request=request,
            user=user,
            target=dnc_target(entry.phone),
            detail={"listed_for": entry.reason} if entry.reason else None,
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


def dnc_import(*, upload, user, filename: str, request=None) -> ImportResult:
    """Add every number of a list (column `phone` or `customer_phone`, optional `reason`).

    Read by the same reader as campaign lists (`voxdash.lib.sheets`: CSV as spreadsheets export
    it, or .xlsx). Numbers already listed are left as they are; rows that are not a valid number
    are reported with their row number. Either the whole file is applied or, when it cannot be
    read (`error`), nothing. One audit entry says what the file did (counts, not numbers).
    """
    result = ImportResult()
    wanted: dict[str, tuple[ImportRow, str]] = {}  # E.164 -> (its first row, its reason)
    try:
        with sheet_open(upload, filename=filename) as sheet:
            result.columns = sheet.columns
            reason_column = next((c for c in sheet.columns if c.lower() == REASON_COLUMN), None)
            for row in sheet.rows():
                value = row.cells[sheet.phone_column]
                reason = row.cells[reason_column] if reason_column else ""
                e164 = phone_e164(value, settings.VOX_DEFAULT_REGION) if value else None
                if e164 is None:
                    note = "no number" if not value else "not a valid phone number"
                    result.invalid.append(ImportRow(row.number, value, note=note))
                elif e164 in wanted:
                    first = wanted[e164][0].row
                    result.already.append(
                        ImportRow(row.number, value, e164, note=f"also on row {first} of this file")
                    )
                else:
                    wanted[e164] = (ImportRow(row.number, value, e164), reason[:REASON_MAX])
    except SheetError as exc:
        return ImportResult(error=exc.message, columns=result.columns)

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
        counts = {"added": len(new), "already": len(result.already), "invalid": len(result.invalid)}
        audit_record(
            action=Action.DNC_IMPORTED,
            request=request,
            user=user,
            target=Target(type="file", label=filename[-200:], url=reverse("dnc:list")),
            detail=counts,
        )
    result.added = [row for row, _ in new]
    result.already.sort(key=lambda r: r.row)
    return result
