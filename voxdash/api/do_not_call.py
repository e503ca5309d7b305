"""/api/v1/do-not-call: read and change the do-not-call list (scope `dnc`).

The same services as the /dnc/ page (`directory.do_not_call`), judged by the page's own form, so a
number is normalised to E.164 the same way, adding a listed number changes nothing, and every
change is in the list's history and the audit log, under the token's service account.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from voxdash.directory import do_not_call as dnc
from voxdash.directory.forms_dnc import DncAddForm, DncSearchForm
from voxdash.directory.models import DoNotCallEntry
from voxdash.lib.formatting import phone_e164

from .auth import TokenAuth
from .errors import ApiError, form_error
from .schemas import COMMON_ERRORS, MAX_LIMIT, MAX_PAGE, ErrorOut, PageOut, page_of
from .scopes import DNC

router = Router(auth=TokenAuth(DNC), tags=["do-not-call"])


class DncEntryOut(Schema):
    phone: str = Field(description="E.164")
    reason: str
    added_by: str = Field(description="Who added it (a person, or a token's `api:<name>`)")
    added_at: datetime


class DncAddIn(Schema):
    model_config = ConfigDict(extra="forbid")  # a misspelt `reason` is refused, not dropped

    phone: str = Field(
        description="International (+234 801 234 5678) or national form for voxdash's default region"
    )
    reason: str = ""


class DncAddedOut(DncEntryOut):
    created: bool = Field(description="False when the number was already listed: nothing changed")


class DncListQuery(Schema):
    q: str = Field("", description="Part of the number (any form) or of the reason")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)


def _entry(entry: DoNotCallEntry) -> dict:
    return {
        "phone": entry.phone,
        "reason": entry.reason,
        "added_by": entry.added_by_name,
        "added_at": entry.added_at,
    }


@router.get(
    "/do-not-call",
    response={200: PageOut[DncEntryOut], **COMMON_ERRORS},
    summary="The do-not-call list, newest first",
)
def dnc_list(request, query: Query[DncListQuery]):
    search = DncSearchForm({"q": query.q})
    if not search.is_valid():
        raise form_error(search)
    entries = dnc.dnc_entries(search=search.cleaned_data["q"])
    start = (query.page - 1) * query.limit
    items = [_entry(e) for e in entries[start : start + query.limit]]
    return page_of(items, page=query.page, limit=query.limit, total=entries.count())


@router.post(
    "/do-not-call",
    response={200: DncAddedOut, 201: DncAddedOut, 400: ErrorOut, **COMMON_ERRORS},
    summary="Add a number (201); one already listed is left as it is (200)",
)
def dnc_add(request, payload: DncAddIn):
    form = DncAddForm({"phone": payload.phone, "reason": payload.reason})
    if not form.is_valid():
        raise form_error(form)
    entry, created = dnc.dnc_add(
        phone=form.cleaned_data["phone"],
        reason=form.cleaned_data["reason"],
        user=request.user,
        request=request,
    )
    return Status(201 if created else 200, {**_entry(entry), "created": created})


@router.delete(
    "/do-not-call/{phone}",
    response={200: DncEntryOut, 404: ErrorOut, **COMMON_ERRORS},
    summary="Take a number off the list (E.164 in the path: %2B for the +)",
)
def dnc_remove(request, phone: str):
    # Read as the page reads a typed number, so "+2348012345678" and a national form are one.
    e164 = phone_e164(phone, settings.VOX_DEFAULT_REGION)
    if e164 is None:
        raise ApiError(
            422,
            "validation_error",
            "Some fields are missing or wrong.",
            details=[{"field": "phone", "message": f"{phone!r} is not a valid phone number."}],
        )
    removed = dnc.dnc_remove(phone=e164, user=request.user, request=request)
    if removed is None:
        raise ApiError(404, "not_listed", f"{e164} is not on the do-not-call list.")
    return _entry(removed)
