"""/api/v1/campaigns: create, run and read campaigns (scope `campaigns`).

The same code as the campaign pages: a new campaign's settings are judged by the page's own form
(`CampaignForm`), its rows by the same draft service (`campaigns.drafts`: JSON rows and uploaded
files are read by the same reader, so do-not-call numbers and duplicates are marked alike), and
each action goes through `campaigns.actions.campaign_press` (once, under the campaign's row lock;
a start or resume asks the workers for a dispatch run). As on the page, a campaign whose list has
bad rows is still made, as a draft, with those rows skipped and named in its `preview`; a list
that cannot be used at all (no phone column, a column the context names is missing, no rows)
makes nothing. Nothing is dialled until the campaign is started.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import File, Form, Header, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict, Field

from voxdash.campaigns import drafts, progress, running
from voxdash.campaigns.actions import campaign_press
from voxdash.campaigns.forms import CampaignForm
from voxdash.campaigns.models import Campaign, CampaignRow
from voxdash.directory import selectors as directory
from voxdash.lib.sheets import NOT_A_SHEET, TOO_LARGE, SheetError, sheet_check
from voxdash.lib.window import DAY_CODES

from .auth import TokenAuth
from .errors import ApiError, form_error
from .idempotency import HEADER, Claimed, idempotency_claim, idempotency_finish, idempotency_release
from .schemas import COMMON_ERRORS, MAX_LIMIT, MAX_PAGE, ErrorOut, PageOut, page_of
from .scopes import CAMPAIGNS

router = Router(auth=TokenAuth(CAMPAIGNS), tags=["campaigns"])

CampaignState = Literal[tuple(Campaign.State.values)]
RowState = Literal[tuple(CampaignRow.State.values)]
# The rows filter is the page's (`in_flight` covers rows being dialled too).
RowFilter = Literal[tuple(progress.FILTERS)]
_STATUS_BY_SHEET_ERROR = {TOO_LARGE: 413, NOT_A_SHEET: 415}
# A cell may be sent as a number (a phone typed as digits, an amount); past 20 digits it is not one.
Cell = str | Annotated[int, Field(gt=-(10**20), lt=10**20)] | None
# The largest id the database holds: a larger one is simply not a campaign (404), never an overflow.
MAX_ID = 2**63 - 1
_FIELDS = CampaignForm.base_fields


def _initial(name: str):
    """The page form's starting value, as the API's default (written once, in the form)."""
    value = _FIELDS[name].initial
    return value.strftime("%H:%M") if hasattr(value, "strftime") else value


# --- what a client sends
class CampaignSettingsIn(Schema):
    # A misspelt setting (`window_strat`) is refused, not dropped for its default.
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="For people, e.g. December reminders")
    business_voice_number_id: str = Field(description="The number to call from (GET /numbers)")
    ai_agent_id: str = Field(description="The agent that talks (GET /agents)")
    purpose: str = Field(description="A short label such as payment_reminder")
    context: str = Field(
        description="What the agent should say or achieve; {column} is each row's cell, {{ and }} braces"
    )
    max_attempts: int = Field(_initial("max_attempts"), description="1 to 5 attempts per row")
    retry_after_minutes: int = Field(_initial("retry_after_minutes"), description="0 to 1440")
    window_start: str = Field(_initial("window_start"), description="HH:MM in `time_zone`")
    window_end: str = Field(_initial("window_end"), description="HH:MM; before the start: past midnight")
    window_days: list[str] = Field(
        default_factory=lambda: list(_initial("window_days")),
        description=f"Days to call on, of {', '.join(DAY_CODES)} (a comma-separated item is split)",
    )
    time_zone: str = Field("UTC", description="An IANA zone, e.g. Africa/Lagos")
    max_in_flight: int = Field(_initial("max_in_flight"), description="1 to 200 calls at once")


class CampaignIn(CampaignSettingsIn):
    rows: list[dict[str, Cell]] = Field(
        description=(
            "The customers to call: column -> value; a `customer_phone` (or `phone`) column, "
            "optionally `customer_name` (or `name`), and any column the context names. Row n is the n-th."
        )
    )


# --- what it answers
class WindowOut(Schema):
    start: str
    end: str
    days: list[str]
    time_zone: str
    description: str
    open_now: bool


class ProblemOut(Schema):
    row: int = Field(
        description="The row's number: a file's spreadsheet row (header = 1), or the n-th JSON row"
    )
    customer_phone: str
    state: RowState
    reason: str


class PreviewOut(Schema):
    rows_read: int
    valid: int
    invalid: int
    duplicates: int
    do_not_call: int
    missing_values: int
    examples: list[str] = Field(description="The context of the first rows to dial, as the agent gets it")
    problems: list[ProblemOut] = Field(description="The first 100 skipped rows and why")


class CampaignSummaryOut(Schema):
    id: int
    name: str
    state: CampaignState
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    rows: int
    done: int = Field(description="Rows settled: an outcome, skipped or cancelled")
    percent: int


class CampaignOut(CampaignSummaryOut):
    started_at: datetime | None
    business_voice_number_id: str
    ai_agent_id: str
    purpose: str
    context: str
    max_attempts: int
    retry_after_minutes: int
    window: WindowOut
    max_in_flight: int
    pause_reason: str = Field(description="Why it paused itself (the circuit breaker), if it did")
    file_name: str
    columns: list[str]
    counts: dict[str, int] = Field(description="Rows by state, every state named")
    summary: str
    dial_rate_per_minute: float | None = Field(
        description="Attempts started a minute over the last 10 minutes; null unless running or paused"
    )
    eta: str = Field(description="When it should be done, or what it waits for, in words")
    preview: PreviewOut | None = Field(description="What a draft will dial and skip; null once started")


class ActionOut(Schema):
    message: str
    campaign: CampaignOut


class RowOut(Schema):
    number: int
    customer_phone: str = Field(description="E.164 when valid, else as written")
    customer_name: str
    state: RowState
    attempts: int
    last_status: str
    attempt_key: str | None = Field(
        description="The latest attempt's idempotency key: its placed call's id; null before the first"
    )
    call_id: str | None = Field(
        description="The latest attempt's call as Vox lists it (GET /calls/{id}), once its outcome is known"
    )
    reason: str
    outcome_at: datetime | None
    updated_at: datetime


class CampaignListQuery(Schema):
    state: CampaignState | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)


class RowsQuery(Schema):
    state: RowFilter | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)


# --- reading
def _campaign_or_404(campaign_id: int) -> Campaign:
    if not 0 < campaign_id <= MAX_ID:
        raise Http404
    return get_object_or_404(Campaign, pk=campaign_id)


def _summary(campaign: Campaign, now_progress: progress.Progress) -> dict:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "state": campaign.state,
        "created_by": campaign.created_by_name,
        "created_at": campaign.created_at,
        "finished_at": campaign.finished_at,
        "rows": now_progress.total,
        "done": now_progress.done,
        "percent": now_progress.percent,
    }


def _campaign(campaign: Campaign) -> dict:
    now_progress = progress.campaign_progress(campaign=campaign)
    window = campaign.window
    return {
        **_summary(campaign, now_progress),
        "started_at": campaign.started_at,
        "business_voice_number_id": campaign.business_voice_number_id,
        "ai_agent_id": campaign.ai_agent_id,
        "purpose": campaign.purpose,
        "context": campaign.context_template,
        "max_attempts": campaign.max_attempts,
        "retry_after_minutes": campaign.retry_after_minutes,
        "window": {
            "start": campaign.window_start.strftime("%H:%M"),
            "end": campaign.window_end.strftime("%H:%M"),
            "days": [d for d in campaign.window_days.split(",") if d],
            "time_zone": campaign.time_zone,
            "description": window.describe(),
            "open_now": window.contains(now_progress.now),
        },
        "max_in_flight": campaign.max_in_flight,
        "pause_reason": campaign.pause_reason,
        "file_name": campaign.file_name,
        "columns": campaign.columns,
        "counts": {state: now_progress.counts.get(state, 0) for state in CampaignRow.State.values},
        "summary": now_progress.summary,
        "dial_rate_per_minute": now_progress.dial_rate,
        "eta": now_progress.eta_text,
        "preview": _preview(campaign) if campaign.state == Campaign.State.DRAFT else None,
    }


def _preview(campaign: Campaign) -> dict:
    preview = drafts.campaign_preview(campaign=campaign)
    return {
        "rows_read": preview.rows_read,
        "valid": preview.valid,
        "invalid": preview.invalid,
        "duplicates": preview.duplicates,
        "do_not_call": preview.do_not_call,
        "missing_values": preview.missing_values,
        "examples": preview.examples,
        "problems": [
            {"row": r.number, "customer_phone": r.customer_phone, "state": r.state, "reason": r.reason}
            for r in preview.problems
        ],
    }


@router.get(
    "/campaigns",
    response={200: PageOut[CampaignSummaryOut], **COMMON_ERRORS},
    summary="Campaigns, newest first",
)
def campaign_list(request, query: Query[CampaignListQuery]):
    campaigns = Campaign.objects.all()
    if query.state:
        campaigns = campaigns.filter(state=query.state)
    start = (query.page - 1) * query.limit
    found = list(campaigns[start : start + query.limit])
    counts = progress.campaign_counts(campaign_ids=[c.pk for c in found])
    now = timezone.now()
    items = [_summary(c, progress.Progress(campaign=c, counts=counts[c.pk], now=now)) for c in found]
    return page_of(items, page=query.page, limit=query.limit, total=campaigns.count())


@router.get(
    "/campaigns/{int:campaign_id}",
    response={200: CampaignOut, 404: ErrorOut, **COMMON_ERRORS},
    summary="A campaign: its settings, counts by row state, rate and ETA (and a draft's preview)",
)
def campaign_detail(request, campaign_id: int):
    return _campaign(_campaign_or_404(campaign_id))


@router.get(
    "/campaigns/{int:campaign_id}/rows",
    response={200: PageOut[RowOut], 404: ErrorOut, **COMMON_ERRORS},
    summary="A campaign's rows in order, with their state, attempts and latest call",
)
def campaign_rows(request, campaign_id: int, query: Query[RowsQuery]):
    campaign = _campaign_or_404(campaign_id)
    now_progress = progress.campaign_progress(campaign=campaign, with_rate=False)
    rows = campaign.rows.order_by("number")
    total = now_progress.total
    if query.state:
        rows = rows.filter(state__in=progress.FILTERS[query.state][1])
        total = next(t.count for t in now_progress.tallies if t.key == query.state)
    start = (query.page - 1) * query.limit
    items = [
        {
            "number": r.number,
            "customer_phone": r.customer_phone,
            "customer_name": r.customer_name,
            "state": r.state,
            "attempts": r.attempts,
            "last_status": r.last_status,
            "attempt_key": str(r.key()) if r.attempts else None,
            "call_id": r.last_call_id or None,
            "reason": r.reason,
            "outcome_at": r.outcome_at,
            "updated_at": r.updated_at,
        }
        for r in rows[start : start + query.limit]  # each row knows its campaign (for its key)
    ]
    return page_of(items, page=query.page, limit=query.limit, total=total)


# --- creating
def _settings(payload: CampaignSettingsIn) -> dict:
    """The settings as the page's form judges them: Campaign field values, or ApiError 422 with
    the form's words per field (503 when Vox could not say which numbers and agents exist)."""
    numbers, agents = directory.voice_numbers(), directory.agents()
    data = payload.model_dump(exclude={"rows"})
    data["window_days"] = [d.strip() for item in payload.window_days for d in item.split(",") if d.strip()]
    form = CampaignForm(data, numbers=numbers.items, agents=agents.items)
    del form.fields["file"]  # the rows come as JSON or were checked as the upload's own part
    if form.is_valid():
        return form.campaign_fields()
    unknown = [
        listing.error
        for name, listing in (("business_voice_number_id", numbers), ("ai_agent_id", agents))
        if name in form.errors and listing.error is not None and not listing.items
    ]
    if unknown:
        raise ApiError(
            503,
            "upstream_error",
            f"Vox could not be asked which numbers and agents exist ({unknown[0]}). Try again later.",
        )
    raise form_error(form)


def _sheet_refusal(exc: SheetError, field: str) -> ApiError:
    return ApiError(
        _STATUS_BY_SHEET_ERROR.get(exc.code, 422),
        exc.code if exc.code in _STATUS_BY_SHEET_ERROR else "invalid_list",
        exc.message,
        details=[{"field": field, "message": exc.message}],
    )


# 400: a body that is not JSON (or multipart) at all, or a bad key; 409: a key used for another list.
CREATED = {201: CampaignOut, 400: ErrorOut, 409: ErrorOut, 413: ErrorOut, 503: ErrorOut, **COMMON_ERRORS}
KEY_HELP = (
    "Optional: a key you make for this campaign, e.g. a UUID. A retry with the same key and body "
    "(after a timeout, say) replays the first answer (Idempotency-Replayed: true) instead of making "
    "a second draft; another body is 409. Without one, each request makes its own draft."
)


def _created(
    request, *, key: str | None, body: dict, payload: CampaignSettingsIn, make, list_field: str
) -> object:
    """The campaign `make(fields)` makes as the 201 answer, once per `Idempotency-Key` when one is
    sent; a list it cannot use is refused naming `list_field`. The key is claimed before anything is judged, so a retry after a timeout replays the
    first answer even if Vox has gone away since; the draft and the remembered answer are written
    in one transaction, so a process lost between them leaves neither (the retry makes the one)."""
    claimed = idempotency_claim(
        token=request.auth, operation="campaign_create", key=key, body=body, required=False, noun="campaign"
    )
    if claimed is not None and not isinstance(claimed, Claimed):
        return claimed  # the first answer to this key, replayed
    try:
        fields = _settings(payload)  # asks Vox which numbers and agents exist: not in the transaction
        with transaction.atomic():
            try:
                campaign = make(fields)
            except SheetError as exc:
                raise _sheet_refusal(exc, list_field) from None
            if claimed is None:
                return Status(201, _campaign(campaign))
            answer = CampaignOut(**_campaign(campaign)).model_dump(mode="json")
            return idempotency_finish(claimed=claimed, status=201, body=answer)
    except BaseException:
        if claimed is not None:
            idempotency_release(claimed=claimed)  # nothing was made: the key may be sent again
        raise


@router.post(
    "/campaigns",
    response=CREATED,
    summary="A draft campaign from rows sent as JSON (started by POST /campaigns/{id}/start)",
)
def campaign_create(
    request,
    payload: CampaignIn,
    idempotency_key: str | None = Header(None, alias=HEADER, description=KEY_HELP),
):

    def make(fields: dict) -> Campaign:
        return drafts.campaign_create_from_rows(
            user=request.user, fields=fields, rows=payload.rows, request=request
        )

    body = payload.model_dump(mode="json")
    return _created(request, key=idempotency_key, body=body, payload=payload, make=make, list_field="rows")


@router.post(
    "/campaigns/upload",
    response={**CREATED, 415: ErrorOut},
    summary="A draft campaign from an uploaded CSV or .xlsx file (multipart/form-data)",
)
def campaign_upload(
    request,
    payload: Form[CampaignSettingsIn],
    file: File[UploadedFile],
    idempotency_key: str | None = Header(None, alias=HEADER, description=KEY_HELP),
):
    try:
        sheet_check(size=file.size, filename=file.name or "")  # refused unread, as the page does
    except SheetError as exc:
        raise _sheet_refusal(exc, "file") from None

    def make(fields: dict) -> Campaign:
        return drafts.campaign_create(
            user=request.user, fields=fields, upload=file, filename=file.name, request=request
        )

    body = payload.model_dump(mode="json")
    if idempotency_key:  # the same settings and the same file's bytes are the same request
        body["file"] = {"name": file.name, "sha256": _sha256(file)}
    return _created(request, key=idempotency_key, body=body, payload=payload, make=make, list_field="file")


def _sha256(file: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)  # read again by the draft service
    return digest.hexdigest()


# --- running
def _act(request, campaign_id: int, action: str) -> dict:
    campaign = _campaign_or_404(campaign_id)
    result = campaign_press(campaign_id=campaign.pk, action=action, user=request.user, request=request)
    if not result.done:
        raise ApiError(
            409, "invalid_state", result.message, details=[{"field": "state", "message": result.state}]
        )
    campaign.refresh_from_db()
    return {"message": result.message, "campaign": _campaign(campaign)}


ACTED = {200: ActionOut, 404: ErrorOut, 409: ErrorOut, **COMMON_ERRORS}


@router.post(
    "/campaigns/{int:campaign_id}/start", response=ACTED, summary="Start a draft: its rows are dialled"
)
def campaign_start(request, campaign_id: int):
    return _act(request, campaign_id, running.START)


@router.post("/campaigns/{int:campaign_id}/pause", response=ACTED, summary="Pause a running campaign")
def campaign_pause(request, campaign_id: int):
    return _act(request, campaign_id, running.PAUSE)


@router.post("/campaigns/{int:campaign_id}/resume", response=ACTED, summary="Resume a paused campaign")
def campaign_resume(request, campaign_id: int):
    return _act(request, campaign_id, running.RESUME)


@router.post(
    "/campaigns/{int:campaign_id}/cancel",
    response=ACTED,
    summary="Cancel: no new calls; calls already placed run their course",
)
def campaign_cancel(request, campaign_id: int):
    return _act(request, campaign_id, running.CANCEL)
