"""/api/v1/calls, /numbers, /agents, /stats: what voxdash knows of the calls (scope `calls:read`).

All of it is read from voxdash's mirror, never from Vox: a read through the API spends none of the
key's request budget, and answers while Vox is down. The calls are filtered by the history page's
own form (`CallFiltersForm`), so a filter means the same on the page, in the CSV export and here;
but where the page reports a bad value and drops it, the API refuses the request (422, the field
named): an integration that sent a filter must not silently get calls it did not ask for. The
stats are the /stats/ page's (`stats.selectors.call_stats`, from the rollup), judged by its form.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from voxdash.calls.forms import CallFiltersForm
from voxdash.calls.mirror_query import mirror_page
from voxdash.calls.models import Call
from voxdash.calls.selectors import call_detail, call_events, placed_call_for, placed_calls_for
from voxdash.directory.models import Agent, VoiceNumber
from voxdash.stats.forms import StatsFiltersForm
from voxdash.stats.selectors import call_stats
from voxdash.vox import types

from .auth import TokenAuth
from .errors import ApiError, form_error
from .schemas import COMMON_ERRORS, MAX_LIMIT, MAX_PAGE, ErrorOut, PageOut, page_of
from .scopes import CALLS_READ

router = Router(auth=TokenAuth(CALLS_READ), tags=["calls"])

_DAY = "YYYY-MM-DD, a whole day in voxdash's time zone"


# --- what a client sends
class CallsQuery(Schema):
    # Strings, judged by the history's form (one rule for the page, the export and the API).
    direction: str | None = Field(None, description="inbound or outbound")
    status: str | None = Field(None, description="A call status, e.g. completed, no_answer")
    search: str | None = Field(None, description="Part of the customer's name or phone number")
    created_after: str | None = Field(None, description=f"Created on or after this day ({_DAY})")
    created_before: str | None = Field(None, description=f"Created on or before this day ({_DAY})")
    agent: str | None = Field(None, description="An agent id (GET /agents): calls placed through voxdash")
    from_number: str | None = Field(None, description="A number id (GET /numbers): placed calls")
    placed_by: str | None = Field(None, description="The username that placed it, e.g. api:CRM")
    duration_min: str | None = Field(None, description="At least this many seconds")
    duration_max: str | None = Field(None, description="At most this many seconds")
    hour: str | None = Field(None, description="Created in this hour of the day, 0 to 23")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)


class DirectoryQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)


class StatsQuery(Schema):
    period: str | None = Field(None, description="today, 7d (the default), 30d, or custom with start and end")
    start: str | None = Field(None, description="First day (YYYY-MM-DD) of a custom period")
    end: str | None = Field(None, description="Last day (YYYY-MM-DD) of a custom period, at most 366 days")
    agent: str | None = Field(None, description="Only the calls voxdash placed with this agent")
    from_number: str | None = Field(None, description="Only the calls voxdash placed from this number")
    time_zone: str | None = Field(
        None, description="The IANA zone whose days the period is made of (default: the business zone)"
    )


# --- what it answers
class CallOut(Schema):
    id: str = Field(description="Vox's call id")
    direction: str
    status: str
    customer_name: str | None
    customer_phone: str = Field(description="E.164")
    agent_id: str | None = Field(description="Known for calls placed through voxdash")
    agent_name: str | None
    from_number_id: str | None = Field(description="Known for calls placed through voxdash")
    from_number: str | None = Field(description="E.164")
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    recording_url: str | None
    placed_by: str | None = Field(description="Who placed it through voxdash (a token is api:<name>)")


class CallEventOut(Schema):
    event_id: str
    type: str = Field(description="e.g. vox.call.completed")
    created: datetime | None = Field(description="When it happened, by Vox's clock")
    received_at: datetime
    outcome: str = Field(description="applied, ignored (stale or duplicate), unknown_type, failed, pending")


class CallDetailOut(CallOut):
    failure_reason: str | None
    events: list[CallEventOut] = Field(
        description="The webhook events about the call, in the order they happened"
    )


class NumberOut(Schema):
    id: str
    phone_number: str = Field(description="E.164")
    country: str
    status: str
    voice_capable: bool
    sms_capable: bool
    provider: str
    can_place_calls: bool = Field(description="Voice-capable and active: a call may be placed from it")


class AgentOut(Schema):
    id: str
    name: str
    status: str
    language: str
    voice_provider: str
    is_default: bool


class PeriodOut(Schema):
    first_day: date
    last_day: date
    time_zone: str


class DayOut(Schema):
    day: date
    calls: int


class StatsOut(Schema):
    period: PeriodOut
    total: int = Field(description="Calls created in the period")
    by_status: dict[str, int]
    by_direction: dict[str, int]
    by_day: list[DayOut]
    finished: int = Field(description="Calls that are over")
    answered: int = Field(description="Finished calls the customer picked up")
    answer_rate: float | None = Field(description="Percent of finished calls answered; null: none finished")
    completion_rate: float | None = Field(description="Percent of finished calls completed")
    average_duration_seconds: float | None
    p90_duration_seconds: int | None


# --- shaping
def _call(call: Call, placed, names: dict[str, str]) -> dict:
    payload = placed.payload if placed else {}
    agent_id = payload.get("ai_agent_id")
    number_id = payload.get("business_voice_number_id")
    return {
        "id": call.vox_id,
        "direction": call.direction,
        "status": call.status,
        "customer_name": call.customer_name or None,
        "customer_phone": call.customer_phone,
        "agent_id": agent_id,
        "agent_name": names.get(("agent", agent_id)),
        "from_number_id": number_id,
        "from_number": names.get(("number", number_id)),
        "created_at": call.created_at,
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "duration_seconds": call.duration_seconds,
        "recording_url": call.recording_url or None,
        "placed_by": placed.username if placed else None,
    }


def _names(placed: list) -> dict[tuple[str, str], str]:
    """The agents' names and the numbers' phones those placements name: two queries a page."""
    payloads = [p.payload for p in placed if p is not None]
    agents = Agent.objects.filter(vox_id__in={p.get("ai_agent_id") for p in payloads} - {None})
    numbers = VoiceNumber.objects.filter(
        vox_id__in={p.get("business_voice_number_id") for p in payloads} - {None}
    )
    return {
        **{("agent", vox_id): name for vox_id, name in agents.values_list("vox_id", "name")},
        **{("number", vox_id): phone for vox_id, phone in numbers.values_list("vox_id", "phone_number")},
    }


def _bad_value(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "Some fields are missing or wrong.",
        details=[{"field": field, "message": message}],
    )


# --- endpoints
@router.get(
    "/calls",
    response={200: PageOut[CallOut], **COMMON_ERRORS},
    summary="The calls voxdash mirrors, newest first, with the history page's filters",
)
def calls_list(request, query: Query[CallsQuery]):
    sent = query.dict(exclude={"page", "limit"}, exclude_none=True)
    form = CallFiltersForm(sent)
    if not form.is_valid():
        raise form_error(form)
    listed, meta = mirror_page(filters=form.call_filters(), page=query.page, limit=query.limit)
    ids = [call.id for call in listed]
    rows = {call.vox_id: call for call in Call.objects.filter(vox_id__in=ids).defer("raw")}
    placed = placed_calls_for(ids)
    names = _names(list(placed.values()))
    # A call gone between the page and its rows (none is ever deleted today) is left out.
    items = [_call(rows[vox_id], placed.get(vox_id), names) for vox_id in ids if vox_id in rows]
    return page_of(
        items, page=query.page, limit=query.limit, total=meta.total, lower_bound=meta.total_is_lower_bound
    )


@router.get(
    "/calls/{call_id}",
    response={200: CallDetailOut, 404: ErrorOut, **COMMON_ERRORS},
    summary="One call, with the webhook events voxdash received about it",
)
def calls_detail(request, call_id: str):
    # An id no call can have (a NUL, which PostgreSQL cannot compare; past the column) is not looked up.
    call = call_detail(call_id) if _could_be_an_id(call_id) else None
    if call is None:
        raise ApiError(404, "not_found", f"voxdash knows no call {call_id!r}.")
    placed = placed_call_for(call)
    events = [
        {
            "event_id": e.event_id,
            "type": e.event_type,
            "created": e.created,
            "received_at": e.received_at,
            "outcome": e.outcome,
        }
        for e in call_events(call.vox_id)
    ]
    return {
        **_call(call, placed, _names([placed])),
        "failure_reason": call.failure_reason or None,
        "events": events,
    }


def _could_be_an_id(call_id: str) -> bool:
    return "\x00" not in call_id and len(call_id) <= Call._meta.get_field("vox_id").max_length


@router.get(
    "/numbers",
    response={200: PageOut[NumberOut], **COMMON_ERRORS},
    summary="The business's voice numbers (to call from), as last synced from Vox",
)
def numbers_list(request, query: Query[DirectoryQuery]):
    numbers = VoiceNumber.objects.filter(vanished_at__isnull=True).order_by("phone_number", "id")
    return _page(numbers, query, lambda n: {
        "id": n.vox_id, "phone_number": n.phone_number, "country": n.country, "status": n.status,
        "voice_capable": n.voice_capable, "sms_capable": n.sms_capable, "provider": n.provider,
        # Vox's own rule (vox.types), as the place-a-call form offers numbers.
        "can_place_calls": types.number_can_place_calls(voice_capable=n.voice_capable, status=n.status),
    })  # fmt: skip


@router.get(
    "/agents",
    response={200: PageOut[AgentOut], **COMMON_ERRORS},
    summary="The business's AI agents, as last synced from Vox",
)
def agents_list(request, query: Query[DirectoryQuery]):
    agents = Agent.objects.filter(vanished_at__isnull=True).order_by("name", "id")
    return _page(agents, query, lambda a: {
        "id": a.vox_id, "name": a.name, "status": a.status, "language": a.language,
        "voice_provider": a.voice_provider, "is_default": a.is_default,
    })  # fmt: skip


def _page(rows, query: DirectoryQuery, shape) -> dict:
    start = (query.page - 1) * query.limit
    items = [shape(row) for row in rows[start : start + query.limit]]
    return page_of(items, page=query.page, limit=query.limit, total=rows.count())


@router.get(
    "/stats",
    response={200: StatsOut, **COMMON_ERRORS},
    summary="How the calls went over a period (the /stats/ page's figures)",
)
def stats_summary(request, query: Query[StatsQuery]):
    sent = query.dict(exclude={"time_zone"}, exclude_none=True)
    if "period" not in sent and ("start" in sent or "end" in sent):
        sent["period"] = "custom"  # dates alone are a custom period
    zone = _zone(query.time_zone or settings.VOXDASH_BUSINESS_TIME_ZONE)
    with timezone.override(zone):
        form = StatsFiltersForm(sent)
        if not form.is_valid():
            raise form_error(form)
        period = form.period_for(timezone.localdate())
        scope = form.scope()
        stats = call_stats(period, agent=scope.agent, from_number=scope.from_number)
    return {
        "period": {"first_day": period.first_day, "last_day": period.last_day, "time_zone": str(zone)},
        "total": stats.total,
        "by_status": dict(stats.by_status),
        "by_direction": dict(stats.by_direction),
        "by_day": [{"day": day, "calls": sum(counts.values())} for day, counts in stats.by_day.items()],
        "finished": stats.finished,
        "answered": stats.answered,
        "answer_rate": stats.answer_rate,
        "completion_rate": stats.completion_rate,
        "average_duration_seconds": stats.average_duration,
        "p90_duration_seconds": stats.p90_duration,
    }


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _bad_value("time_zone", f"{name!r} is not an IANA time zone, e.g. Africa/Lagos.") from None
