"""Webhook writes: store a verified delivery once, then apply the stored event to the mirror.

Vox delivers at least once and in no particular order, so applying is idempotent and order-safe:
  - a call's status only moves to the event with the greatest (is terminal, event time): a terminal
    status is never replaced by a non-terminal one, and among terminal ones the later event wins;
    `Call.status_at` is that event's time. Taking a maximum is what makes the result independent
    of the order events arrive in.
  - a recording URL, a failure reason and a duration are only ever filled in, never erased by a null.
  - an agent update older than one already applied for that agent is ignored.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from voxdash.calls.models import Call
from voxdash.calls.sync import calls_mirrored
from voxdash.directory.models import Agent
from voxdash.vox import errors as vox_errors
from voxdash.vox import types as vox_types

from . import tasks
from .models import WebhookEvent

logger = logging.getLogger("voxdash.webhooks")

Outcome = WebhookEvent.Outcome

# Event type -> the status it implies when its data carries none.
CALL_EVENTS = {
    "vox.call.started": "in_progress",
    "vox.call.completed": "completed",
    "vox.call.failed": "failed",
    "vox.recording.ready": "completed",  # a recording only exists for a call that was answered
}
AGENT_UPDATED = "vox.agent.updated"


class InvalidEvent(Exception):
    """A correctly signed body that is not a usable event (not JSON, no id, ids disagree)."""


class EventDataError(Exception):
    """A stored event whose data cannot be applied. Permanent: retrying will not help."""


# --- receiving
def webhook_event_receive(*, body: bytes, header_id: str | None) -> tuple[WebhookEvent, bool]:
    """Store a verified delivery once by its event id; return (event, is_duplicate).

    Processing is enqueued after commit, so the worker never looks for a row it cannot see yet.
    """
    payload = _parse_body(body, header_id)
    data = payload.get("data")
    call_id = data.get("callId") if isinstance(data, dict) else None
    event = WebhookEvent(
        event_id=payload["id"],
        event_type=payload["type"],
        environment=str(payload.get("environment") or "")[:16],
        created=vox_types.parse_timestamp(payload.get("created")),
        raw_body=body.decode("utf-8"),
        payload=payload,
        signature_valid=True,
        call_vox_id=call_id[:64] if isinstance(call_id, str) else "",
    )
    # Insert first, look up only on conflict: most deliveries are new, and the unique event_id
    # settles two copies of one event racing each other.
    try:
        with transaction.atomic():
            event.save(force_insert=True)
            tasks.process_webhook_event.delay_on_commit(event.pk)
        return event, False
    except IntegrityError:
        pass
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(event_id=payload["id"])
        WebhookEvent.objects.filter(pk=event.pk).update(deliveries=F("deliveries") + 1)
        if event.outcome == Outcome.PENDING:
            # A duplicate of an event still pending is enqueued again: the first enqueue may have
            # failed (broker down after the row committed). Processing skips events already done.
            tasks.process_webhook_event.delay_on_commit(event.pk)
    return event, True


def _parse_body(body: bytes, header_id: str | None) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidEvent(f"body is not UTF-8 JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidEvent("body is not a JSON object")
    event_id, event_type = payload.get("id"), payload.get("type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 100:
        raise InvalidEvent("event has no usable id")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise InvalidEvent("event has no usable type")
    # The header is not signed, the body is: the body's id is the one we trust, and a header that
    # disagrees means something between Vox and us rewrote the request.
    if header_id and header_id != event_id:
        raise InvalidEvent("Cloove-Webhook-Id does not match the body's id")
    return payload


# --- processing
def webhook_event_process(*, event_pk: int) -> str:
    """Apply one stored event exactly once and record the outcome; return it.

    Raises on unexpected (possibly transient) errors after recording them, so the task retries.
    """
    try:
        with transaction.atomic():
            # The lock makes a second task for the same event (redelivered, re-enqueued) wait,
            # then see the recorded outcome and do nothing.
            event = WebhookEvent.objects.select_for_update().filter(pk=event_pk).first()
            if event is None:
                logger.warning("webhook event %s no longer exists", event_pk)
                return ""
            if event.outcome not in (Outcome.PENDING, Outcome.FAILED):
                return event.outcome
            try:
                with transaction.atomic():  # a data error rolls back only this event's writes
                    outcome, detail = webhook_event_apply(event)
            except EventDataError as exc:
                outcome, detail = Outcome.FAILED, str(exc)
                logger.warning("webhook %s %s not applied: %s", event.event_type, event.event_id, exc)
            _record(event_pk, outcome, detail)
            return outcome
    except Exception as exc:
        _record(event_pk, Outcome.FAILED, f"{type(exc).__name__}: {exc}")
        raise


def _record(event_pk: int, outcome: str, detail: str) -> None:
    WebhookEvent.objects.filter(pk=event_pk).update(
        outcome=outcome, outcome_detail=detail[:2000], processed_at=timezone.now()
    )


def webhook_event_apply(event: WebhookEvent) -> tuple[str, str]:
    """Apply `event` to the mirror; return (outcome, detail). Call inside a transaction."""
    if event.event_type in CALL_EVENTS:
        return _apply_call_event(event)
    if event.event_type == AGENT_UPDATED:
        return _apply_agent_event(event)
    return Outcome.UNKNOWN_TYPE, f"no handler for {event.event_type!r}; stored only"


def _data(event: WebhookEvent) -> dict[str, Any]:
    data = event.payload.get("data") if isinstance(event.payload, dict) else None
    if not isinstance(data, dict):
        raise EventDataError("event has no data object")
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _status_key(status: str, at: datetime | None) -> tuple[bool, datetime]:
    # No time (e.g. a row written by the listing sync) sorts before any event time.
    return (status in vox_types.TERMINAL_STATUSES, at or datetime.min.replace(tzinfo=UTC))


def _apply_call_event(event: WebhookEvent) -> tuple[str, str]:
    data = _data(event)
    call_id = _text(data, "callId")
    if not call_id or len(call_id) > 64:
        raise EventDataError("event data has no usable callId")
    status = _text(data, "status")[:32] or CALL_EVENTS[event.event_type]
    at = event.created or event.received_at
    duration = data.get("durationSeconds")
    recording_url = _text(data, "recordingUrl")[:1000]
    if not recording_url.lower().startswith(("https://", "http://")):
        # Pages link to it and play it: a javascript: or data: URL must never be stored.
        recording_url = ""

    # Create what we know about a call never listed, then lock the row: two workers applying
    # events for one call serialize here, so neither can overwrite the other with stale values.
    call, created = Call.objects.get_or_create(
        vox_id=call_id,
        defaults={"direction": _text(data, "direction")[:16], "status": "", "customer_phone": "",
                  "created_at": at},
    )
    call = Call.objects.select_for_update().get(pk=call.pk)
    before = (call.status, call.status_at)
    changed: list[str] = []

    if not call.status or _status_key(status, at) > _status_key(call.status, call.status_at):
        call.status, call.status_at = status, at
        changed += ["status", "status_at"]
        # The reason belongs to the status that won: a later completed clears a failed's reason.
        reason = _text(data, "reason")[:300] if event.event_type == "vox.call.failed" else ""
        if call.failure_reason != reason and (reason or status == "completed"):
            call.failure_reason = reason
            changed.append("failure_reason")
    if recording_url and call.recording_url != recording_url:
        call.recording_url = recording_url
        changed.append("recording_url")
    if isinstance(duration, int) and not isinstance(duration, bool) and duration >= 0:
        if call.duration_seconds != duration:
            call.duration_seconds = duration
            changed.append("duration_seconds")
    if not call.direction and _text(data, "direction"):
        call.direction = _text(data, "direction")[:16]
        changed.append("direction")
    if event.event_type == "vox.call.started" and call.started_at is None:
        call.started_at = at
        changed.append("started_at")
    if event.event_type in ("vox.call.completed", "vox.call.failed") and call.ended_at is None:
        call.ended_at = at
        changed.append("ended_at")

    if created:
        call.save()
        # After commit, like the sync's pages: placements link a placed call to it.
        transaction.on_commit(lambda: calls_mirrored.send(sender=Call, created=[call_id], updated=[]))
        return Outcome.APPLIED, f"created call {call_id} as {call.status}"
    if not changed:
        return Outcome.IGNORED, f"call {call_id}: nothing new (stays {call.status})"
    call.save(update_fields=[*dict.fromkeys(changed), "last_seen_at"])
    if "status" in changed:
        return Outcome.APPLIED, f"call {call_id}: {before[0]} -> {call.status}; {', '.join(changed)}"
    return Outcome.APPLIED, f"call {call_id}: stays {call.status}; {', '.join(changed)}"


def _apply_agent_event(event: WebhookEvent) -> tuple[str, str]:
    try:
        parsed = vox_types.Agent.from_api(_data(event))
    except vox_errors.VoxBadResponse as exc:
        raise EventDataError(str(exc)) from None
    at = event.created or event.received_at
    agent, created = Agent.objects.get_or_create(
        vox_id=parsed.id, defaults={"name": parsed.name, "status": parsed.status or ""}
    )
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    # Agents have no version of their own: an update already applied with a later event time
    # is newer than this one. Checked under the agent's lock, so a concurrent update is visible.
    newer = (
        WebhookEvent.objects.filter(event_type=AGENT_UPDATED, outcome=Outcome.APPLIED,
                                    payload__data__id=parsed.id, created__gt=at)
        .exclude(pk=event.pk)
        .exists()
    )
    if newer and not created:
        return Outcome.IGNORED, f"agent {parsed.id}: a later update was already applied"
    agent.name = parsed.name[:200]
    agent.language = (parsed.language or "")[:32]
    agent.voice_provider = (parsed.voice_provider or "")[:64]
    agent.voice_id = (parsed.voice_id or "")[:64]
    agent.persona = parsed.persona or ""
    agent.is_default = parsed.is_default
    agent.status = (parsed.status or "")[:32]
    agent.created_at = parsed.created_at or agent.created_at
    agent.raw = dict(parsed.raw)
    agent.save()
    if parsed.is_default:
        # Vox has one default agent; the newly default one takes the mark from the others.
        Agent.objects.exclude(pk=agent.pk).filter(is_default=True).update(is_default=False)
    return Outcome.APPLIED, f"{'created' if created else 'updated'} agent {parsed.id}"


# Refusals kept for the log: bounded, so a flood of junk costs at most this many rows a minute
# (past it, only the log line) and the table never holds more than the newest REFUSALS_KEPT.
REFUSALS_PER_MINUTE = 60
REFUSALS_KEPT = 1000


def refused_delivery_record(*, reason: str, headers, body: bytes, remote_addr: str) -> None:
    from django.core.cache import cache

    from .models import RefusedDelivery

    window = f"voxdash:webhooks:refused:{int(timezone.now().timestamp() // 60)}"
    cache.add(window, 0, 120)
    try:
        if cache.incr(window) > REFUSALS_PER_MINUTE:
            return
    except ValueError:
        pass
    refusal = RefusedDelivery.objects.create(
        reason=reason[:200],
        claimed_event_id=(headers.get("Cloove-Webhook-Id") or "")[:100],
        claimed_type=(headers.get("Cloove-Webhook-Event") or "")[:100],
        remote_addr=(remote_addr or "")[:64],
        body_excerpt=body[:2000].decode("utf-8", errors="replace"),
        body_size=len(body),
    )
    RefusedDelivery.objects.filter(pk__lte=refusal.pk - REFUSALS_KEPT).delete()
