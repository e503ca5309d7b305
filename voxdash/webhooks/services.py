"""Webhook writes: store a verified delivery once, then hand the stored event to the mirror.

Vox delivers at least once and in no particular order, so applying is idempotent and order-safe.
What an event may change in a call or an agent is the mirror's rule (`voxdash.mirror`, one table
shared with the sync); this module reads the event's data and records the outcome. An agent
update older than one already applied for that agent is ignored (the applied events are here).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from voxdash.mirror.calls import CallEvent, call_merge_event
from voxdash.mirror.directory import agent_merge_event
from voxdash.vox import errors as vox_errors
from voxdash.vox import types as vox_types
from voxdash.vox.statuses import AGENT_UPDATED, EVENT_STATUS

from .models import RefusedDelivery, WebhookEvent

logger = logging.getLogger("voxdash.webhooks")

Outcome = WebhookEvent.Outcome


class InvalidEvent(Exception):
    """A correctly signed body that is not a usable event (not JSON, no id, ids disagree)."""


class EventDataError(Exception):
    """A stored event whose data cannot be applied. Permanent: retrying will not help."""


# --- receiving
# A Vox event is three levels deep; anything past this is refused before it costs more (jsonb,
# the log's pretty-printer). Also keeps the cleaning walk below far from Python's recursion limit.
MAX_DEPTH = 32
# PostgreSQL text and jsonb cannot hold NUL, and a lone surrogate (JSON's "\ud800") cannot be
# encoded to UTF-8 at all; SQLite takes both, so the rule is the same on every database.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable_text(text: str) -> str:
    """`text` with the characters no database column can hold replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def webhook_event_receive(
    *, body: bytes, header_id: str | None, enqueue: Callable[[int], None] | None = None
) -> tuple[WebhookEvent, bool]:
    """Store a verified delivery once by its event id; return (event, is_duplicate).

    `enqueue(event_pk)` (the view passes `webhooks.queue.webhook_event_enqueue`) runs after commit,
    so the worker never looks for a row it cannot see yet. A callable rather than an import, so the
    services never import the tasks that call them. Without one the event waits pending: the
    caller applies it itself (tests, fixtures), or the sweep does.
    """
    payload, altered = _parse_body(body, header_id)
    data = payload.get("data")
    call_id = data.get("callId") if isinstance(data, dict) else None
    event = WebhookEvent(
        event_id=payload["id"],
        event_type=payload["type"],
        environment=str(payload.get("environment") or "")[:16],
        created=vox_types.parse_timestamp(payload.get("created")),
        # Exactly as signed: json.loads refused raw NULs, and an escaped one is six ASCII characters.
        raw_body=body.decode("utf-8"),
        payload=payload,
        call_vox_id=call_id[:64] if isinstance(call_id, str) else "",
    )
    if altered:
        # Signed, so really Vox's: kept for the log rather than refused (Vox would retry, then
        # drop it, and nobody would see it). Not applied: the altered data could put a wrong
        # call id or value in the mirror. Staff may re-run it from the log knowing that.
        event.outcome = Outcome.FAILED
        event.outcome_detail = (
            "not applied: the payload held NUL or unpaired surrogate characters, "
            "which the database cannot store; they were replaced with U+FFFD"
        )
        event.processed_at = timezone.now()
    # Insert first, look up only on conflict: most deliveries are new, and the unique event_id
    # settles two copies of one event racing each other.
    try:
        with transaction.atomic():
            event.save(force_insert=True)
            if not altered and enqueue is not None:
                transaction.on_commit(partial(enqueue, event.pk))
        return event, False
    except IntegrityError:
        pass
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(event_id=payload["id"])
        WebhookEvent.objects.filter(pk=event.pk).update(deliveries=F("deliveries") + 1)
        if event.outcome == Outcome.PENDING and enqueue is not None:
            # A duplicate of an event still pending is enqueued again: the first enqueue may have
            # failed (broker down after the row committed). Processing skips events already done.
            transaction.on_commit(partial(enqueue, event.pk))
    return event, True


def _parse_body(body: bytes, header_id: str | None) -> tuple[dict[str, Any], bool]:
    """The body as a storable event payload, and whether characters had to be replaced."""
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidEvent(f"body is nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidEvent(f"body is not UTF-8 JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidEvent("body is not a JSON object")
    event_id, event_type = payload.get("id"), payload.get("type")
    if not _usable_name(event_id):
        raise InvalidEvent("event has no usable id")
    if not _usable_name(event_type):
        raise InvalidEvent("event has no usable type")
    # The header is not signed, the body is: the body's id is the one we trust, and a header that
    # disagrees means something between Vox and us rewrote the request.
    if header_id and header_id != event_id:
        raise InvalidEvent("Cloove-Webhook-Id does not match the body's id")
    return _storable(payload, 0)


def _usable_name(value: Any) -> bool:
    # Printable refuses NUL, newlines and lone surrogates: an id or type is stored, shown and logged.
    return isinstance(value, str) and 0 < len(value) <= 100 and value.isprintable()


def _no_constant(name: str) -> None:
    # Python's json reads NaN and Infinity; they are not JSON, and jsonb refuses them.
    raise InvalidEvent(f"body has a number that is not JSON: {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999
        raise InvalidEvent(f"body has a number too large to store: {text[:40]}")
    return value


def _storable(value: Any, depth: int) -> tuple[Any, bool]:
    """`value` with unstorable characters replaced (keys too); refuses nesting past MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise InvalidEvent(f"body is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        cleaned = storable_text(value)
        return cleaned, cleaned != value
    if isinstance(value, list):
        items = [_storable(item, depth + 1) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    if isinstance(value, dict):
        altered, cleaned = False, {}
        for key, item in value.items():
            clean_key, key_changed = _storable(key, depth + 1)
            cleaned[clean_key], item_changed = _storable(item, depth + 1)
            altered |= key_changed or item_changed
        return cleaned, altered
    return value, False


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
    if event.event_type in EVENT_STATUS:
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


def _apply_call_event(event: WebhookEvent) -> tuple[str, str]:
    data = _data(event)
    call_id = _text(data, "callId")
    if not call_id or len(call_id) > 64:
        raise EventDataError("event data has no usable callId")
    duration = data.get("durationSeconds")
    merged = call_merge_event(
        CallEvent(
            call_id=call_id,
            type=event.event_type,
            at=event.created or event.received_at,
            status=_text(data, "status"),
            direction=_text(data, "direction"),
            duration_seconds=duration
            if isinstance(duration, int) and not isinstance(duration, bool)
            else None,
            recording_url=_text(data, "recordingUrl"),
            reason=_text(data, "reason"),
        )
    )
    return (Outcome.APPLIED if merged.created or merged.changed else Outcome.IGNORED), merged.detail


def _apply_agent_event(event: WebhookEvent) -> tuple[str, str]:
    try:
        parsed = vox_types.Agent.from_api(_data(event))
    except vox_errors.VoxBadResponse as exc:
        raise EventDataError(str(exc)) from None
    at = event.created or event.received_at
    written, detail = agent_merge_event(
        agent=parsed,
        at=at,
        newer_applied=lambda: (
            WebhookEvent.objects.filter(
                event_type=AGENT_UPDATED, outcome=Outcome.APPLIED, payload__data__id=parsed.id, created__gt=at
            )
            .exclude(pk=event.pk)
            .exists()
        ),
    )
    return (Outcome.APPLIED if written else Outcome.IGNORED), detail


# Refusals are counted in one per-minute window shared by every process (the cache). A flood of
# junk costs at most REFUSALS_LOGGED_PER_MINUTE log lines and REFUSALS_PER_MINUTE rows a minute,
# plus one line when the flood passes the sample and one summing up the minute before; the table
# never holds more than the newest REFUSALS_KEPT.
REFUSALS_LOGGED_PER_MINUTE = 10
REFUSALS_PER_MINUTE = 60
REFUSALS_KEPT = 1000
_WINDOW_KEY = "voxdash:webhooks:refused:{}"


def refused_delivery_record(
    *, reason: str, headers, body: bytes, remote_addr: str, level: int = logging.WARNING
) -> bool:
    """Log and keep a refused delivery for the webhook log, both sampled against floods; return
    whether this one was within the logged sample.

    Never raises: the sender gets its 400 whether or not the refusal could be counted or kept.
    """
    minute = int(timezone.now().timestamp() // 60)
    seen = _refusals_counted(minute)
    claimed_id = storable_text(headers.get("Cloove-Webhook-Id") or "")[:100]
    if seen == 1:
        # The first refusal of a minute sums up the one before (if its flood passed the sample).
        # A flood that stops is summed up by the next refusal, whenever it comes.
        before = _refusals_in(minute - 1)
        if before > REFUSALS_LOGGED_PER_MINUTE:
            logger.warning(
                "webhook refusals: %d more in the previous minute were not logged",
                before - REFUSALS_LOGGED_PER_MINUTE,
            )
    if seen <= REFUSALS_LOGGED_PER_MINUTE:
        logger.log(level, "webhook rejected from %s: %s (id %.100r)", remote_addr, reason, claimed_id)
    elif seen == REFUSALS_LOGGED_PER_MINUTE + 1:
        logger.warning(
            "webhook refusals: more than %d this minute; the rest are counted, not logged",
            REFUSALS_LOGGED_PER_MINUTE,
        )
    logged = seen <= REFUSALS_LOGGED_PER_MINUTE
    if seen > REFUSALS_PER_MINUTE:
        return logged
    try:
        refusal = RefusedDelivery.objects.create(
            reason=storable_text(reason)[:200],
            claimed_event_id=claimed_id,
            claimed_type=storable_text(headers.get("Cloove-Webhook-Event") or "")[:100],
            remote_addr=storable_text(remote_addr or "")[:64],
            body_excerpt=storable_text(body[:2000].decode("utf-8", errors="replace")),
            body_size=len(body),
        )
        RefusedDelivery.objects.filter(pk__lte=refusal.pk - REFUSALS_KEPT).delete()
    except DatabaseError as exc:  # database down: the refusal is only lost from the log page
        logger.warning("webhook refusal not kept (%s)", type(exc).__name__)
    return logged


def _refusals_counted(minute: int) -> int:
    """Count one more refusal in `minute`'s window; return the count so far.

    While Redis is down the cache backend (voxdash.lib.cache) counts in this process's memory: the
    bound then holds per process instead of overall, which is still a bound.
    """
    key = _WINDOW_KEY.format(minute)
    cache.add(key, 0, 120)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this one starts the count again
        cache.add(key, 1, 120)
        return 1


def _refusals_in(minute: int) -> int:
    return int(cache.get(_WINDOW_KEY.format(minute)) or 0)
