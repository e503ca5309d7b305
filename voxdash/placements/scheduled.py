"""Calls placed for later (the form's `place_at`): scheduled by a person, cancelled by a person,
sent by the worker when due (`voxdash.placements.tasks.placements_due_send`, run by beat).

A scheduled call is one `PlacedCall` from start to end (origin SCHEDULED, the form's idempotency
key, at most one per key): outcome SCHEDULED while it waits, then PENDING while a worker sends it,
then whatever `placement_send` records (QUEUED, REJECTED, ...), or CANCELLED, or BLOCKED.

- Exactly once: a worker claims a due call with one conditional UPDATE (SCHEDULED -> PENDING), so
  two workers never both send it. A worker killed after claiming leaves it PENDING; once the claim
  is older than the send lease, the next run sends it again with the same key, and Vox dials once.
- The guard runs when it is scheduled (do-not-call now, the business hours at the planned time,
  the person's brake) and again when it is sent: a number put on the do-not-call list meanwhile
  is BLOCKED. The business hours are checked at the moment of sending; a person who confirmed
  calling outside them when scheduling ("the call is for 21:00, call anyway") keeps that
  confirmation. A call planned inside the hours but sent outside them (the workers were down
  for hours) is BLOCKED rather than dialled late at night, and says so.
- An unknown outcome (Vox unreachable, a lost response) is sent again with the same key after the
  lease, for RETRY_FOR after its planned time; after that it is left "Outcome unknown".
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from voxdash.accounts.roles import can_place_calls
from voxdash.audit.log import Action, audit_record
from voxdash.vox.budget import PLACEMENT

from .guard import business_hours, placement_guard
from .models import PlacedCall
from .services import OUTCOME_UNKNOWN_ERRORS, Attempt, placed_call_target, placement_send

logger = logging.getLogger(__name__)

SCHEDULE_MAX_AHEAD = timedelta(days=30)
RETRY_FOR = timedelta(minutes=30)
DUE_BATCH = 100
# One run of the due sender stops taking new calls after this long (beat starts another).
RUN_SECONDS = 30.0


def send_lease() -> timedelta:
    """How old a claim must be before its call counts as abandoned: longer than one send can take
    with every retry the client makes (each attempt's connect and read timeouts, the waits
    between them), so a claim this old belongs to a worker that died."""
    attempts = settings.VOX_MAX_RETRIES + 1
    worst = attempts * (settings.VOX_CONNECT_TIMEOUT + settings.VOX_READ_TIMEOUT)
    worst += settings.VOX_MAX_RETRIES * settings.VOX_MAX_RETRY_WAIT
    return timedelta(seconds=max(120.0, worst + 30.0))


def scheduled_call_create(
    *,
    user,
    payload: dict,
    idempotency_key: uuid.UUID,
    place_at: datetime,
    window_confirmed: bool = False,
    request=None,
) -> Attempt:
    """Schedule the call `payload` for `place_at`, after the guard: the record, or the refusal.
    `request`: the one it came from, for the audit log's entry (who, from where).

    Pressing "Schedule" again with the same key answers with the call already scheduled; a key
    already sent at once (the form placed, then went back to add a time) is not scheduled again:
    Vox keeps a key only for a day, so a later send could dial a second time.
    """
    existing = PlacedCall.objects.filter(idempotency_key=idempotency_key, origin=PlacedCall.Origin.SCHEDULED)
    if (found := existing.first()) is not None:
        return Attempt(found, repeat=True)
    sent = PlacedCall.objects.filter(idempotency_key=idempotency_key).exclude(
        outcome=PlacedCall.Outcome.THROTTLED
    )
    if (found := sent.order_by("attempted_at", "id").first()) is not None:
        return Attempt(found, repeat=True)
    refusal = placement_guard(
        customer_phone=payload["customer_phone"],
        window=business_hours(),
        at=place_at,
        window_confirmed=window_confirmed,
        braked_user=user,
    )
    if refusal is not None:
        return Attempt(None, refusal=refusal)
    record = PlacedCall.for_body(
        user=user,
        idempotency_key=idempotency_key,
        payload=payload,
        outcome=PlacedCall.Outcome.SCHEDULED,
        origin=PlacedCall.Origin.SCHEDULED,
        place_at=place_at,
        window_confirmed=window_confirmed,
    )
    try:
        with transaction.atomic():
            record.save()
            detail = {
                "place_at": place_at.isoformat(),
                **({"window_confirmed": True} if window_confirmed else {}),
            }
            audit_record(
                action=Action.CALL_SCHEDULED,
                request=request,
                user=user,
                target=placed_call_target(record),
                detail=detail,
            )
    except IntegrityError:  # two presses at once: the other one scheduled it
        return Attempt(existing.get(), repeat=True)
    return Attempt(record)


def scheduled_call_may_cancel(*, user, record: PlacedCall) -> bool:
    """Callers may cancel the calls they scheduled; staff Callers anyone's. Only while it waits."""
    return (
        record.origin == PlacedCall.Origin.SCHEDULED
        and record.outcome == PlacedCall.Outcome.SCHEDULED
        and can_place_calls(user)
        and (record.user_id == user.pk or user.is_staff)
    )


def scheduled_call_cancel(*, key: uuid.UUID, user, request=None) -> tuple[PlacedCall, bool]:
    """Cancel the scheduled call of `key`: (its record, whether this cancelled it). False when it
    was no longer waiting (sent or cancelled meanwhile). PermissionDenied when `user` may not;
    PlacedCall.DoesNotExist when `key` is no scheduled call. `request`: for the audit log."""
    record = PlacedCall.objects.get(idempotency_key=key, origin=PlacedCall.Origin.SCHEDULED)
    if record.outcome != PlacedCall.Outcome.SCHEDULED:
        return record, False
    if not scheduled_call_may_cancel(user=user, record=record):
        raise PermissionDenied("Only the person who scheduled this call, or staff, may cancel it.")
    with transaction.atomic():
        # Conditional: a worker claiming it at this moment wins or loses as a whole.
        cancelled = PlacedCall.objects.filter(pk=record.pk, outcome=PlacedCall.Outcome.SCHEDULED).update(
            outcome=PlacedCall.Outcome.CANCELLED,
            cancelled_by=user,
            cancelled_by_name=user.get_username(),
            cancelled_at=timezone.now(),
        )
        if cancelled:  # only the press that cancelled it: a second one changed nothing
            detail = {"place_at": record.place_at.isoformat()} if record.place_at else {}
            audit_record(
                action=Action.CALL_CANCELLED,
                request=request,
                user=user,
                target=placed_call_target(record),
                detail=detail,
            )
    record.refresh_from_db()
    return record, bool(cancelled)


def placements_due_send(*, now: datetime | None = None) -> int:
    """Send the scheduled calls that are due, and again those whose sender died: how many were
    sent to Vox. Safe to run in any number of workers at once."""
    now = now or timezone.now()
    started = time.monotonic()
    sent = 0
    for record in _abandoned(now):
        sent += _resend(record, now)
    while time.monotonic() - started < RUN_SECONDS:
        due = list(
            PlacedCall.objects.filter(outcome=PlacedCall.Outcome.SCHEDULED, place_at__lte=now)
            .order_by("place_at", "id")
            .values_list("pk", flat=True)[:DUE_BATCH]
        )
        if not due:
            break
        for pk in due:
            # The claim: of any number of workers, only one's UPDATE matches the SCHEDULED row.
            claimed = PlacedCall.objects.filter(pk=pk, outcome=PlacedCall.Outcome.SCHEDULED).update(
                outcome=PlacedCall.Outcome.PENDING, send_started_at=now
            )
            if claimed:
                sent += _send(PlacedCall.objects.get(pk=pk), now)
    return sent


def _abandoned(now: datetime) -> list[PlacedCall]:
    """Claimed, not finished, and the claim older than the lease: its worker died (or its send
    had an unknown outcome and waits to be repeated)."""
    return list(
        PlacedCall.objects.filter(
            origin=PlacedCall.Origin.SCHEDULED,
            outcome=PlacedCall.Outcome.PENDING,
            send_started_at__lt=now - send_lease(),
        ).order_by("place_at", "id")[:DUE_BATCH]
    )


def _guard_when_due(record: PlacedCall, now: datetime):
    return placement_guard(
        customer_phone=record.customer_phone,
        window=business_hours(),
        at=now,
        window_confirmed=record.window_confirmed,
    )


def _send(record: PlacedCall, now: datetime) -> int:
    refusal = _guard_when_due(record, now)
    if refusal is not None:
        record.outcome = PlacedCall.Outcome.BLOCKED
        record.error_kind = refusal.code
        record.error_message = f"Not sent when due: {refusal.message}"
        record.save(update_fields=["outcome", "error_kind", "error_message"])
        logger.info("scheduled call %s blocked: %s", record.idempotency_key, refusal.code)
        return 0
    _after_send(placement_send(record=record, priority=PLACEMENT), now)
    return 1


def _resend(record: PlacedCall, now: datetime) -> int:
    """Send an abandoned claim again with its key (Vox dials once, whatever the first send did)."""
    reclaimed = PlacedCall.objects.filter(
        pk=record.pk, outcome=PlacedCall.Outcome.PENDING, send_started_at=record.send_started_at
    ).update(send_started_at=now)
    if not reclaimed:
        return 0  # another worker took it over
    record.send_started_at = now
    refusal = _guard_when_due(record, now)
    if refusal is not None:
        # Not BLOCKED: the interrupted send may have reached Vox, so nobody can say it was not placed.
        record.outcome = PlacedCall.Outcome.UNKNOWN
        record.error_kind = refusal.code
        record.error_message = (
            f"{refusal.message} Its earlier send was interrupted, so Vox may or may not have it; "
            "voxdash did not send it again."
        )
        record.save(update_fields=["outcome", "error_kind", "error_message"])
        return 0
    logger.info("scheduled call %s: sending again with the same key", record.idempotency_key)
    _after_send(placement_send(record=record, priority=PLACEMENT), now)
    return 1


def _after_send(attempt: Attempt, now: datetime) -> None:
    """An unknown outcome waits to be repeated (as an abandoned claim) while that is still useful."""
    record = attempt.record
    if not isinstance(attempt.error, OUTCOME_UNKNOWN_ERRORS):
        return
    if record.place_at is not None and now - record.place_at < RETRY_FOR:
        record.outcome = PlacedCall.Outcome.PENDING
        record.error_message = (
            f"{record.error_message} voxdash sends it again with the same key in a few minutes."
        )
        record.save(update_fields=["outcome", "error_message"])
