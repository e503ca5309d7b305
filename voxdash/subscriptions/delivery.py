"""Sending each delivery until its receiver answers 2xx, for a day.

- Claimed one row at a time with a conditional UPDATE (due -> SENDING, attempts + 1): of two
  workers exactly one changes the row, so no attempt is sent twice at once. A SENDING claim older
  than SEND_LEASE is a worker that died mid-send: due again.
- POST of the event's JSON, signed as Vox signs its own webhooks (`Voxdash-Signature:
  t=<unix>,v1=<HMAC-SHA256 of "{t}." + body, keyed with the subscription's secret>`, a fresh `t` per
  attempt), with `Voxdash-Event-Id` (the same on every attempt: the receiver drops repeats) and
  `Voxdash-Event-Type`; 10 s; no redirects (a moved receiver is a setting to fix).
- Anything but 2xx, or no answer, is retried after BACKOFF (10 s, 1, 5, 15, 30 min, then hourly)
  until GIVE_UP_AFTER (a day) since the event: then FAILED. Re-send (the page) makes it due now.
- Sent in threads, a few at a time, so one hung receiver costs its own timeout (10 s), not each of
  the others' in turn. Each row is claimed only when a thread is free to send it, and its result
  is written as soon as it is in; a run stops claiming at CLAIM_WITHIN, so every claim it makes is
  answered long before SEND_LEASE would let another run take it over (and send it twice). What
  it leaves is still due: beat's next run, 10 s later, sends it.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.db.models import F, Q
from django.utils import timezone

from voxdash.webhooks.signature import sign

from .models import EventDelivery

logger = logging.getLogger("voxdash.subscriptions")
State = EventDelivery.State

SEND_TIMEOUT_SECONDS = 10.0
SEND_LEASE = timedelta(minutes=2)  # far longer than one send (10 s) can take
BACKOFF = (timedelta(seconds=10), *(timedelta(minutes=m) for m in (1, 5, 15, 30, 60)))
GIVE_UP_AFTER = timedelta(hours=24)
PARALLEL = 8
# A run claims no more rows after this long: a claim made then is answered (or timed out) within
# half the lease.
CLAIM_WITHIN = SEND_LEASE / 2 - timedelta(seconds=SEND_TIMEOUT_SECONDS)
USER_AGENT = "voxdash-events/1.0"
ERROR_CHARS = 300


def body_of(delivery: EventDelivery) -> bytes:
    return json.dumps(delivery.event.payload(), separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={sign(secret, body, timestamp)}"


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def _due(now: datetime) -> Q:
    return Q(state__in=[State.PENDING, State.RETRYING], next_attempt_at__lte=now) | Q(
        state=State.SENDING, sending_since__lt=now - SEND_LEASE
    )


def event_deliveries_send(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send what is due; return how many attempts were made."""
    now = now or timezone.now()
    started = time.monotonic()
    due = iter(
        EventDelivery.objects.filter(_due(now))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    # The threads only talk HTTP; claims and results are written here, on this thread's
    # connection (a thread of its own would hold a second connection, and SQLite one writer).
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="events") as pool:
        sending: dict[Future, _Claim] = {}

        def claim_more() -> None:
            while len(sending) < PARALLEL:
                elapsed = timedelta(seconds=time.monotonic() - started)
                if elapsed >= CLAIM_WITHIN or (pk := next(due, None)) is None:
                    return
                if claim := _claim(pk, due_at=now, claimed_at=now + elapsed):
                    sending[pool.submit(_attempt, claim)] = claim

        claim_more()
        while sending:
            done, _ = wait(sending, return_when=FIRST_COMPLETED)
            for future in done:
                status, error = future.result()  # _attempt answers every failure itself
                _record(sending.pop(future), status=status, error=error)
                sent += 1
            claim_more()
    return sent


@dataclass
class _Claim:
    delivery: EventDelivery

    @property
    def mine(self):
        """The row while this claim holds it (attempts changes with every claim)."""
        return EventDelivery.objects.filter(
            pk=self.delivery.pk, state=State.SENDING, attempts=self.delivery.attempts
        )


def _claim(pk: int, *, due_at: datetime, claimed_at: datetime) -> _Claim | None:
    won = EventDelivery.objects.filter(_due(due_at), pk=pk).update(
        state=State.SENDING, sending_since=claimed_at, attempts=F("attempts") + 1
    )
    if not won:
        return None
    delivery = EventDelivery.objects.select_related("event", "subscription").get(pk=pk)
    return _Claim(delivery)


def _attempt(claim: _Claim) -> tuple[int | None, str]:
    """One POST: (the receiver's status or None, the error or "")."""
    delivery = claim.delivery
    body = body_of(delivery)
    status, error = None, ""
    try:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Voxdash-Signature": signature(delivery.subscription.secret, body, int(time.time())),
            "Voxdash-Event-Id": str(delivery.event.uuid),
            "Voxdash-Event-Type": delivery.event.type,
        }
        with httpx.Client(timeout=SEND_TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = client.post(delivery.subscription.url, content=body, headers=headers)
        status = response.status_code
        if not 200 <= status < 300:
            text = " ".join(response.text.split())[:ERROR_CHARS]
            error = f"the receiver answered HTTP {status}" + (f": {text}" if text else "")
    except httpx.TimeoutException as exc:
        error = f"no answer within {SEND_TIMEOUT_SECONDS:g} s ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        error = f"could not reach the receiver ({type(exc).__name__})"
    except Exception as exc:  # a bug here must not leave the claim SENDING until the lease runs out
        logger.exception("event delivery %s failed", delivery.pk)
        error = f"voxdash could not send it ({type(exc).__name__})"
    return status, error


def _record(claim: _Claim, *, status: int | None, error: str) -> None:
    now = timezone.now()
    delivery = claim.delivery
    fields = {"last_attempt_at": now, "last_status": status, "last_error": error, "sending_since": None}
    if not error:
        fields |= {"state": State.DELIVERED, "delivered_at": now}
    elif now - delivery.event.created_at >= GIVE_UP_AFTER:
        fields |= {"state": State.FAILED}
    else:
        fields |= {"state": State.RETRYING, "next_attempt_at": now + backoff(delivery.attempts)}
    claim.mine.update(**fields)
    if error:
        logger.info("event %s to %s: %s", delivery.event.uuid, delivery.subscription.name, error)


def event_delivery_resend(*, delivery: EventDelivery) -> None:
    """Due now again (the same event, the same id), whatever became of it; a run sends it."""
    EventDelivery.objects.filter(pk=delivery.pk).exclude(state=State.SENDING).update(
        state=State.PENDING, next_attempt_at=timezone.now()
    )


def _words(wait: timedelta) -> str:
    seconds = int(wait.total_seconds())
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min"


def send_later_note() -> str:
    """How retries go, in words, for the delivery log (made from BACKOFF, so it cannot go stale)."""
    *first, last = BACKOFF
    hours = GIVE_UP_AFTER.total_seconds() / 3600
    return (
        f"Failed attempts are retried after {', '.join(_words(w) for w in first)}, then every "
        f"{_words(last)}, for {hours:g} hours; then it is given up."
    )
