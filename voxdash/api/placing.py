"""/api/v1/placed-calls and /api/v1/scheduled-calls: placing calls exactly once, and following them.

Placing goes through what the place-a-call page uses: its form judges the body (so a field means
the same in both), `placements.services.call_place` passes the guard (the do-not-call list, the
business hours, the per-user brake, which counts the token's service account as one person),
records the attempt, then sends it to Vox; `placements.scheduled` does the same for later. What it
asks Vox is spent at the API's priority, behind the pages (voxdash.vox.budget, set by
errors.ApiErrorShapeMiddleware). `Idempotency-Key` is required: idempotency.py has the rules.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from ninja import Header, Path, Query, Router, Schema
from pydantic import ConfigDict, Field

from voxdash.audit.log import Action, audit_record
from voxdash.directory import selectors as directory
from voxdash.placements import scheduled, services
from voxdash.placements.forms import PlaceCallForm
from voxdash.placements.guard import DO_NOT_CALL, OUTSIDE_WINDOW, Refusal
from voxdash.placements.models import PlacedCall
from voxdash.vox import errors

from .auth import TokenAuth
from .errors import ApiError, form_error
from .idempotency import (
    HEADER,
    Claimed,
    idempotency_claim,
    idempotency_finish,
    idempotency_release,
    key_in_progress,
    key_reused,
    vox_key,
)
from .schemas import COMMON_ERRORS, MAX_LIMIT, MAX_PAGE, ErrorOut, PageOut, page_of, page_of_capped
from .scopes import CALLS_PLACE, CALLS_READ

router = Router(tags=["placing"])
KEY_HELP = (
    "Required (400 without it): a key you make for this call, e.g. a UUID. The same key and body "
    "replays the first answer (Idempotency-Replayed: true); another body is 409."
)
PLACE = TokenAuth(CALLS_PLACE)
READ = TokenAuth(CALLS_READ)


# --- what a client sends
class CallIn(Schema):
    """The call, as the place-a-call form takes it (and Vox's POST /v1/vox/calls)."""

    # A misspelt field (`confirm_outside_hour`) is refused, not dropped: a call placed without
    # what the client meant to say is worse than a 422.
    model_config = ConfigDict(extra="forbid")

    customer_phone: str = Field(
        description="International (+2348012345678) or national for the default region"
    )
    customer_name: str | None = Field(None, description="Optional; the agent uses it")
    purpose: str = Field(description="A short label, e.g. payment_reminder")
    context: str = Field(description="What the agent should say or achieve")
    business_voice_number_id: str = Field(description="The number to call from (GET /numbers)")
    ai_agent_id: str = Field(description="The agent (GET /agents)")
    confirm_outside_hours: bool = Field(
        False, description="Call even though it is outside the business hours (else 422 outside_hours)"
    )


class ScheduledCallIn(CallIn):
    place_at: datetime = Field(description="When to call: ISO 8601 with an offset, within 30 days")


class PlacedCallsQuery(Schema):
    origin: str | None = Field(None, description=", ".join(PlacedCall.Origin.values))
    outcome: str | None = Field(None, description="e.g. queued, replayed, rejected, scheduled")
    mine: bool = Field(False, description="Only this token's")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)


# --- what it answers
class PlacedCallOut(Schema):
    key: uuid.UUID = Field(description="voxdash's key for this call: GET /placed-calls/{key} follows it")
    origin: str = Field(description=", ".join(PlacedCall.Origin.values))
    outcome: str = Field(description="queued, replayed, rejected, unknown, throttled, scheduled, cancelled…")
    customer_phone: str
    customer_name: str | None
    purpose: str
    business_voice_number_id: str | None
    ai_agent_id: str | None
    placed_by: str
    attempted_at: datetime
    place_at: datetime | None
    vox_call_id: str | None = Field(description="Vox's id for the placed call, once accepted")
    call_id: str | None = Field(description="The call in GET /calls, once voxdash has matched it")
    error: str | None = Field(description="Why it was not placed, when it was not")


class PlacedCallStatusOut(PlacedCallOut):
    status: str = Field(
        description="The call's status (queued, ringing, completed, …) or the placement's outcome"
    )
    final: bool = Field(description="Nothing about it will change any more")


def _placed_call(record: PlacedCall) -> dict:
    payload = record.payload or {}
    return {
        "key": record.idempotency_key,
        "origin": record.origin,
        "outcome": record.outcome,
        "customer_phone": record.customer_phone,
        "customer_name": payload.get("customer_name") or None,
        "purpose": payload.get("purpose", ""),
        "business_voice_number_id": payload.get("business_voice_number_id"),
        "ai_agent_id": payload.get("ai_agent_id"),
        "placed_by": record.username,
        "attempted_at": record.attempted_at,
        "place_at": record.place_at,
        "vox_call_id": record.vox_placement_id or None,
        "call_id": record.listed_call_id or None,
        "error": record.error_message or None,
    }


def _as_json(record: PlacedCall) -> dict:
    """The answer as stored for replays: JSON values (uuid and times as strings)."""
    return PlacedCallOut(**_placed_call(record)).model_dump(mode="json")


# --- following
KEY_PATH_HELP = (
    "The `key` of the answer that placed (or scheduled) it, or the Idempotency-Key this token sent"
)


def no_such_key(*, done: str) -> str:
    return (
        f"No call was {done} with this key. Send the `key` of the answer, or the Idempotency-Key this "
        "token sent (a key of another token is not found). Do not place the call again with a new "
        "key: send the same request with the same Idempotency-Key, which cannot dial twice."
    )


def _placed_key(request, key: str, *, operation: str) -> uuid.UUID:
    """The placed call's key from either what the answer said (`key`, voxdash's UUID) or the
    client's own Idempotency-Key (what a client keeps, and the key voxdash derived from it)."""
    try:
        found = uuid.UUID(key)
    except ValueError:
        found = None
    if found is not None and PlacedCall.objects.filter(idempotency_key=found).exists():
        return found
    return vox_key(token=request.auth, operation=operation, key=key.strip())


# --- placing
PLACED = {
    201: PlacedCallOut,
    400: ErrorOut,
    409: ErrorOut,
    502: ErrorOut,
    503: ErrorOut,
    504: ErrorOut,
    **COMMON_ERRORS,
}


def _payload(body: CallIn, *, key: uuid.UUID, place_at: datetime | None = None) -> dict:
    """The body judged by the page's form: what will be sent to Vox, or ApiError 422 (503 when Vox
    could not say which numbers and agents exist)."""
    numbers, agents = directory.voice_numbers(), directory.agents()
    data = body.model_dump(exclude={"confirm_outside_hours", "place_at"})
    data = {name: value for name, value in data.items() if value is not None}
    data["idempotency_key"] = str(key)
    if place_at is not None:
        data["place_at"] = place_at.isoformat()
    form = PlaceCallForm(data, numbers=numbers.items, agents=agents.items)
    if form.is_valid():
        return form.payload()
    for name, listing in (("business_voice_number_id", numbers), ("ai_agent_id", agents)):
        if name in form.errors and listing.error is not None and not listing.items:
            raise ApiError(
                503,
                "upstream_error",
                f"Vox could not be asked which numbers and agents exist ({listing.error}).",
            )
    raise form_error(form)


def _refused(refusal: Refusal) -> ApiError:
    if refusal.code == DO_NOT_CALL:
        return ApiError(
            422,
            "do_not_call",
            refusal.message,
            details=[{"field": "customer_phone", "message": refusal.message}],
        )
    if refusal.code == OUTSIDE_WINDOW:
        return ApiError(
            422,
            "outside_hours",
            f"{refusal.message} Send confirm_outside_hours: true to call anyway.",
            details=[{"field": "confirm_outside_hours", "message": refusal.hours}],
        )
    return ApiError(429, "throttled", refusal.message, headers={"Retry-After": "60"})


def _vox_refused(exc: errors.VoxError) -> ApiError:
    """What Vox's answer means for the client, and whether retrying the same key is safe."""
    # Vox knows the key (it was released here after an unknown outcome, so no fingerprint is
    # kept): another body is the client's mistake, the same one still being answered a wait.
    if isinstance(exc, errors.IdempotencyKeyReused):
        return key_reused()
    if isinstance(exc, errors.RequestInProgress):
        return key_in_progress()
    if isinstance(exc, errors.VoxBudgetExhausted):
        wait = max(1, round(exc.retry_after or 1))
        return ApiError(
            503,
            "budget_exhausted",
            f"voxdash's share of the Vox request budget is spent for now; nothing was sent. Retry in {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, errors.VoxValidationError):
        details = [
            {"field": field, "message": message}
            for field, messages in exc.field_errors.items()
            for message in messages
        ]
        return ApiError(422, "validation_error", f"Vox refused the call: {exc.message}", details=details)
    if isinstance(exc, services.OUTCOME_UNKNOWN_ERRORS):
        status = 504 if isinstance(exc, errors.VoxTimeout) else 502
        return ApiError(
            status,
            "outcome_unknown",
            f"Vox did not say whether it queued the call ({exc.message}). Send the same request with the "
            f"same {HEADER} again: it cannot dial twice.",
        )
    if isinstance(exc, (errors.VoxAuthError, errors.VoxForbidden)):
        return ApiError(
            502,
            "upstream_error",
            "Vox refused voxdash's own key: an administrator must fix it. Nothing was placed.",
        )
    return ApiError(502, "upstream_error", f"Vox refused the call: {exc.message}")


@router.post(
    "/placed-calls",
    auth=PLACE,
    response=PLACED,
    summary="Place a call now, exactly once per Idempotency-Key",
)
def place_call(
    request, body: CallIn, idempotency_key: str | None = Header(None, alias=HEADER, description=KEY_HELP)
):
    claimed = idempotency_claim(
        token=request.auth, operation="place", key=idempotency_key, body=body.model_dump(mode="json")
    )
    if not isinstance(claimed, Claimed):
        return claimed  # the first answer to this key, replayed
    try:
        key = vox_key(token=request.auth, operation="place", key=claimed.row.key)
        payload = _payload(body, key=key)
        attempt = services.call_place(
            user=request.user,
            payload=payload,
            idempotency_key=key,
            window_confirmed=body.confirm_outside_hours,
        )
        if attempt.refusal is not None:
            raise _refused(attempt.refusal)
        record = attempt.record
        if record.outcome == PlacedCall.Outcome.THROTTLED:
            raise _refused(Refusal("throttled", record.error_message))
        if attempt.error is not None:
            raise _vox_refused(attempt.error)
    except BaseException:
        idempotency_release(claimed=claimed)
        raise
    if record.outcome == PlacedCall.Outcome.QUEUED:
        # The placement itself, once (as the page records it): repeats are REPLAYED.
        audit_record(
            action=Action.CALL_PLACED,
            request=request,
            target=services.placed_call_target(record),
            detail={"window_confirmed": True} if body.confirm_outside_hours else None,
        )
    return idempotency_finish(claimed=claimed, status=201, body=_as_json(record))


@router.get(
    "/placed-calls",
    auth=READ,
    response={200: PageOut[PlacedCallOut], **COMMON_ERRORS},
    summary="Every attempt to place a call through voxdash, newest first",
)
def placed_call_list(request, query: Query[PlacedCallsQuery]):
    attempts = services.placed_calls(origin=query.origin or "")
    if query.origin and query.origin not in PlacedCall.Origin.values:
        raise ApiError(
            422,
            "validation_error",
            "Unknown origin.",
            details=[{"field": "origin", "message": "one of " + ", ".join(PlacedCall.Origin.values)}],
        )
    if query.outcome:
        if query.outcome not in PlacedCall.Outcome.values:
            raise ApiError(
                422,
                "validation_error",
                "Unknown outcome.",
                details=[{"field": "outcome", "message": ", ".join(PlacedCall.Outcome.values)}],
            )
        attempts = attempts.filter(outcome=query.outcome)
    if query.mine:
        attempts = attempts.filter(user=request.user)
    # Counted no further than the cap: a busy list has hundreds of thousands of attempts.
    return page_of_capped(attempts, page=query.page, limit=query.limit, shape=_placed_call)


@router.get(
    "/placed-calls/{key}",
    auth=READ,
    response={200: PlacedCallStatusOut, 404: ErrorOut, **COMMON_ERRORS},
    summary="Where a placed call stands: follow it until `final`",
)
def placed_call_status(request, key: str = Path(description=KEY_PATH_HELP)):
    key = _placed_key(request, key, operation="place")
    record = PlacedCall.objects.filter(idempotency_key=key).order_by("attempted_at", "id").first()
    if record is None:
        raise ApiError(404, "not_found", no_such_key(done="placed"))
    progress = services.placed_call_progress(key)
    accepted = PlacedCall.objects.filter(idempotency_key=key, outcome=PlacedCall.Outcome.QUEUED).first()
    shown = (
        accepted or PlacedCall.objects.filter(idempotency_key=key).order_by("-attempted_at", "-id").first()
    )
    answer = _placed_call(shown)
    answer["call_id"] = progress.listed_call_id or answer["call_id"]
    return {**answer, "status": progress.status, "final": progress.is_final}


# --- later
SCHEDULED = {201: PlacedCallOut, 400: ErrorOut, 409: ErrorOut, 503: ErrorOut, **COMMON_ERRORS}


@router.post(
    "/scheduled-calls",
    auth=PLACE,
    response=SCHEDULED,
    summary="Schedule a call for later, exactly once per Idempotency-Key",
)
def schedule_call(
    request,
    body: ScheduledCallIn,
    idempotency_key: str | None = Header(None, alias=HEADER, description=KEY_HELP),
):
    claimed = idempotency_claim(
        token=request.auth, operation="schedule", key=idempotency_key, body=body.model_dump(mode="json")
    )
    if not isinstance(claimed, Claimed):
        return claimed
    try:
        key = vox_key(token=request.auth, operation="schedule", key=claimed.row.key)
        payload = _payload(body, key=key, place_at=body.place_at)
        attempt = scheduled.scheduled_call_create(
            user=request.user,
            payload=payload,
            idempotency_key=key,
            place_at=body.place_at,
            window_confirmed=body.confirm_outside_hours,
            request=request,
        )
        if attempt.refusal is not None:
            raise _refused(attempt.refusal)
    except BaseException:
        idempotency_release(claimed=claimed)
        raise
    return idempotency_finish(claimed=claimed, status=201, body=_as_json(attempt.record))


@router.get(
    "/scheduled-calls",
    auth=READ,
    response={200: PageOut[PlacedCallOut], **COMMON_ERRORS},
    summary="Calls waiting for their time, soonest first",
)
def scheduled_call_list(
    request, page: int = Query(1, ge=1, le=MAX_PAGE), limit: int = Query(20, ge=1, le=MAX_LIMIT)
):
    waiting = PlacedCall.objects.filter(
        origin=PlacedCall.Origin.SCHEDULED, outcome=PlacedCall.Outcome.SCHEDULED
    )
    total = waiting.count()
    start = (page - 1) * limit
    items = [_placed_call(r) for r in waiting.order_by("place_at", "id")[start : start + limit]]
    return page_of(items, page=page, limit=limit, total=total)


@router.post(
    "/scheduled-calls/{key}/cancel",
    auth=PLACE,
    response={200: PlacedCallOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, **COMMON_ERRORS},
    summary="Cancel a scheduled call this token scheduled, while it waits",
)
def scheduled_call_cancel(request, key: str = Path(description=KEY_PATH_HELP)):
    key = _placed_key(request, key, operation="schedule")
    record = PlacedCall.objects.filter(idempotency_key=key, origin=PlacedCall.Origin.SCHEDULED).first()
    if record is None:
        raise ApiError(404, "not_found", no_such_key(done="scheduled"))
    if record.user_id != request.user.pk:
        # The service lets staff cancel anyone's; a token is not staff: only its own.
        raise ApiError(403, "forbidden", "A token may cancel only the calls it scheduled.")
    if record.outcome != PlacedCall.Outcome.SCHEDULED:
        raise ApiError(
            409,
            "invalid_state",
            f"This call is no longer waiting: it is {record.get_outcome_display().lower()}.",
        )
    record, cancelled = scheduled.scheduled_call_cancel(key=key, user=request.user, request=request)
    if not cancelled:
        raise ApiError(409, "invalid_state", "This call was sent or cancelled meanwhile.")
    return _placed_call(record)
