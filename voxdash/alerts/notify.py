"""Notices: one AlertDelivery per channel for each thing to say about an alert, then sent.

`alert_notify` is what the evaluation calls (inside its transaction): it writes the deliveries and
announces them (`deliveries_created`; voxdash.alerts.queue asks a worker to send them once the
transaction commits, so a notice leaves within seconds). `alert_deliveries_send` (that task, and
beat every VOXDASH_ALERT_DELIVERIES_EVERY seconds for the rest and the retries) sends what is due:

- Claimed one row at a time with a conditional UPDATE (due -> SENDING, attempts + 1): of two
  workers, exactly one sees its UPDATE change the row, so no notice is sent twice. A SENDING
  claim older than SEND_LEASE is a worker that died mid-send: due again.
- Sent in threads, one per channel (at most MAX_PARALLEL_CHANNELS), each send with its own
  timeout, and the run stops waiting for a sender SEND_GRACE_SECONDS after that. Threads rather
  than one Celery task per delivery: the worker pool is small (README runs two processes) and
  shared with webhook processing and campaign dispatch, so a hung Slack would hold a pool slot
  for every one of its deliveries; here all the waiting happens inside one task, and a hung
  channel costs one timeout per run whatever its backlog.
- Per channel, in order (a "fired" leaves before its "resolved"); after a failure the channel's
  other deliveries wait for the next run, untried (they keep their attempts).
- A failure is retried after BACKOFF_MINUTES (1, 2, 5, 10, 30, then every 60) until GIVE_UP_AFTER
  (a day) has passed since the notice was made: then GAVE_UP. Every attempt's error is kept in
  last_error (the URL's secrets masked), and the channel's last_delivered_at / last_failed_at /
  last_error show a failing channel on the alerts page.
"""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urljoin

from django.conf import settings
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

from . import channels
from .environment import alert_channels_sync_environment, environment_url, signing_secret
from .models import Alert, AlertChannel, AlertDelivery

logger = logging.getLogger("voxdash.alerts")

State = AlertDelivery.State
Notice = AlertDelivery.Notice

# Each send's own timeout is channels.SEND_TIMEOUT_SECONDS; the run waits this much longer.
SEND_GRACE_SECONDS = 5.0
# Longer than any send can take (the run gives up on a sender after timeout + grace, and on the
# whole batch at half the lease): a claim this old belongs to a worker that died.
SEND_LEASE = timedelta(minutes=5)
BACKOFF_MINUTES = (1, 2, 5, 10, 30, 60)
GIVE_UP_AFTER = timedelta(hours=24)
MAX_PARALLEL_CHANNELS = 16
ERROR_CHARS = 1000

# Sent by alert_notify with the deliveries it wrote (voxdash.alerts.apps connects the queue).
deliveries_created = Signal()


def channels_for(rule) -> list[AlertChannel]:
    """The enabled channels a rule notifies: those for every rule, and those it names."""
    return list(AlertChannel.objects.filter(Q(every_rule=True) | Q(rules=rule), enabled=True).distinct())


def alert_notify(*, alert: Alert, notice: str) -> list[AlertDelivery]:
    """Queue one notice (fired, reminder, resolved) about `alert` to each of its rule's channels."""
    now = timezone.now()
    alert_channels_sync_environment()  # a URL added to the environment gets this notice too
    title, body = message_for(alert=alert, notice=notice)
    deliveries = AlertDelivery.objects.bulk_create(
        [
            AlertDelivery(
                alert=alert,
                channel=channel,
                channel_name=channel.name,
                notice=notice,
                title=title,
                body=body,
                created_at=now,
                next_attempt_at=now,
            )
            for channel in channels_for(alert.rule)
        ]
    )
    alert.last_notified_at = now
    alert.notices += 1
    alert.save(update_fields=["last_notified_at", "notices"])
    if deliveries:
        deliveries_created.send(sender=AlertDelivery, deliveries=deliveries)
    return deliveries


def message_for(*, alert: Alert, notice: str) -> tuple[str, str]:
    """The notice's title and text: what happened, since when, and where to look."""
    prefix = {"fired": "Alert", "reminder": "Still firing", "resolved": "Resolved"}.get(notice, notice)
    subject = f" — {alert.subject_label}" if alert.subject_label else ""
    title = f"[voxdash] {prefix}: {alert.rule.name}{subject}"
    lines = [alert.summary]
    if notice == Notice.RESOLVED and alert.resolved_at:
        lines = [
            f"{alert.rule.name} is back to normal.",
            f"It started {_when(alert.opened_at)} and cleared {_when(alert.resolved_at)}.",
            f"Last seen: {alert.summary}",
        ]
    elif notice == Notice.REMINDER:
        lines.append(f"Firing since {_when(alert.opened_at)}.")
    else:
        lines.append(f"Since {_when(alert.opened_at)}.")
    link = absolute_link(alert.link)
    if link:
        lines.append(f"Details: {link}")
    return title, "\n".join(lines)


def absolute_link(link: str) -> str:
    """An alert's link for a message: absolute when voxdash's address is known (VOXDASH_BASE_URL,
    e.g. https://intranet.example/voxdash/), else the path as the alert holds it."""
    base = settings.VOXDASH_BASE_URL
    if not link or not base or "://" in link:
        return link
    # The link is reverse()'s path, URL prefix included: it replaces the base's path.
    return urljoin(base.rstrip("/") + "/", link)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


# --- Sending ------------------------------------------------------------------------------------


def alert_deliveries_send(*, now: datetime | None = None, limit: int = 100) -> int:
    """Send the deliveries that are due (new, or due for a retry); return how many were tried."""
    alert_channels_sync_environment()
    clock = _clock(now)
    started = clock()
    due = (
        AlertDelivery.objects.filter(_due(started))
        .order_by("created_at", "id")
        .values_list("pk", "state")[:limit]
    )
    claims = [claim for pk, state in due if (claim := _claim(pk, state, now=started))]
    _send(claims, clock=clock)
    return len(claims)


def channel_test(*, channel: AlertChannel, user=None) -> AlertDelivery:
    """Send a test notice to one channel now (even a disabled one: testing it before turning it
    on is the point); return the delivery, DELIVERED or GAVE_UP with the error. Tests are not
    retried: whoever pressed the button reads the result."""
    now = timezone.now()
    who = f" by {user.get_username()}" if user is not None and user.is_authenticated else ""
    delivery = AlertDelivery.objects.create(
        alert=None,
        channel=channel,
        channel_name=channel.name,
        notice=Notice.TEST,
        title=f"[voxdash] Test notice to {channel.name}",
        body=f"A test notice sent{who} at {_when(now)}. If you read this, the channel works.",
        created_at=now,
        next_attempt_at=now,
        # Claimed as it is made: the beat's sender must not pick it up meanwhile.
        state=State.SENDING,
        sending_since=now,
        attempts=1,
    )
    _send([_Claim(delivery, previous_state=State.PENDING)], clock=timezone.now)
    delivery.refresh_from_db()
    return delivery


def masked_url(channel: AlertChannel) -> str:
    """The channel's URL with passwords and tokens replaced by "•••", for pages and lists."""
    try:
        url = environment_url(channel)
    except channels.UnusableURL as exc:
        return f"({exc})"
    return channels.mask(url)


@dataclass
class _Claim:
    delivery: AlertDelivery
    previous_state: str

    @property
    def mine(self):
        """The row, as long as this claim still holds it (attempts changes with every claim)."""
        return AlertDelivery.objects.filter(
            pk=self.delivery.pk, state=State.SENDING, attempts=self.delivery.attempts
        )


def _clock(now: datetime | None) -> Callable[[], datetime]:
    return (lambda: now) if now is not None else timezone.now


def _due(now: datetime) -> Q:
    return Q(state__in=[State.PENDING, State.RETRYING], next_attempt_at__lte=now) | Q(
        state=State.SENDING, sending_since__lt=now - SEND_LEASE
    )


def _claim(pk: int, state: str, *, now: datetime) -> _Claim | None:
    # The conditional UPDATE is the claim: it re-checks "due" on the row itself (PostgreSQL
    # re-evaluates the WHERE after waiting for a concurrent writer; SQLite writes one at a time),
    # so of two senders exactly one changes the row.
    won = AlertDelivery.objects.filter(_due(now), pk=pk).update(
        state=State.SENDING, sending_since=now, attempts=F("attempts") + 1
    )
    if not won:
        return None
    delivery = AlertDelivery.objects.select_related("channel", "alert__rule").filter(pk=pk).first()
    if delivery is None:
        return None  # its alert was deleted (with its rule) meanwhile
    # A claim taken over from a dead worker goes back to RETRYING if it is not tried after all.
    return _Claim(delivery, previous_state=State.RETRYING if state == State.SENDING else state)


def _send(claims: list[_Claim], *, clock: Callable[[], datetime]) -> None:
    """Send the claimed deliveries, one thread per channel, and record each result as it comes."""
    by_channel: dict[int, list[tuple[_Claim, channels.Outgoing]]] = {}
    for claim in claims:
        try:
            out = _outgoing(claim.delivery)
        except channels.UnusableURL as exc:
            _record(claim, str(exc), now=clock(), final=True)
            continue
        by_channel.setdefault(out.channel_id, []).append((claim, out))
    if not by_channel:
        return
    claim_of = {out.delivery_id: claim for batch in by_channel.values() for claim, out in batch}
    channel_of = {out.delivery_id: out.channel_id for batch in by_channel.values() for _, out in batch}
    events: queue.Queue = queue.Queue()
    pool = ThreadPoolExecutor(
        max_workers=min(MAX_PARALLEL_CHANNELS, len(by_channel)), thread_name_prefix="alerts"
    )
    for batch in by_channel.values():
        pool.submit(_send_channel, [out for _, out in batch], events)
    pending = set(claim_of)
    deadlines: dict[int, float] = {}  # delivery id -> when we stop waiting for its sender
    abandoned: set[int] = set()  # channels whose sender we stopped waiting for
    stop_at = time.monotonic() + SEND_LEASE.total_seconds() / 2
    try:
        while pending:
            wait = min([*deadlines.values(), stop_at]) - time.monotonic()
            try:
                kind, pk, value = events.get(timeout=max(wait, 0.0))
            except queue.Empty:
                _give_up_waiting(pending, deadlines, abandoned, claim_of, channel_of, stop_at, clock)
                continue
            if channel_of[pk] in abandoned or pk not in pending:
                continue  # a sender we stopped waiting for finished after all: already recorded
            if kind == "start":
                deadlines[pk] = value + channels.SEND_TIMEOUT_SECONDS + SEND_GRACE_SECONDS
                continue
            deadlines.pop(pk, None)
            pending.discard(pk)
            if kind == "done":
                _record(claim_of[pk], value, now=clock())
            else:  # "skip": the channel failed earlier in this run; not tried
                _release(claim_of[pk])
    finally:
        # Never wait for a hung sender: its thread ends with its socket's timeout.
        pool.shutdown(wait=False, cancel_futures=True)


def _give_up_waiting(pending, deadlines, abandoned, claim_of, channel_of, stop_at, clock) -> None:
    """Nothing came in time: record the senders past their deadline (all of them once the run's
    own time is up) as failed, and give back what was queued behind them, untried."""
    now = time.monotonic()
    for pk in sorted(pending):
        if pk in deadlines and (deadlines[pk] <= now or now >= stop_at):
            deadlines.pop(pk)
            pending.discard(pk)
            abandoned.add(channel_of[pk])
            waited = channels.SEND_TIMEOUT_SECONDS + SEND_GRACE_SECONDS
            _record(claim_of[pk], f"no answer within {waited:g} s", now=clock())
    for pk in sorted(pending):
        if pk not in deadlines and (channel_of[pk] in abandoned or now >= stop_at):
            pending.discard(pk)
            _release(claim_of[pk])


def _send_channel(batch: list[channels.Outgoing], events: queue.Queue) -> None:
    """One channel's deliveries in order, in a thread; stops at the first failure."""
    for index, out in enumerate(batch):
        events.put(("start", out.delivery_id, time.monotonic()))
        try:
            channels.send(out)
            error = None
        except channels.SendFailed as exc:
            error = str(exc) or "failed"
        except Exception as exc:  # a sender's bug must not leave the row SENDING until its lease
            error = channels.scrub(f"{type(exc).__name__}: {exc}", out.url)
        events.put(("done", out.delivery_id, error))
        if error is not None:
            for rest in batch[index + 1 :]:
                events.put(("skip", rest.delivery_id, None))
            return


def _outgoing(delivery: AlertDelivery) -> channels.Outgoing:
    channel = delivery.channel
    if channel is None:
        raise channels.UnusableURL("the channel was deleted")
    if not channel.enabled and delivery.notice != Notice.TEST:
        raise channels.UnusableURL("the channel is turned off")
    url = environment_url(channel)
    if not url:
        raise channels.UnusableURL("the channel has no URL")
    out = channels.Outgoing(
        delivery_id=delivery.pk,
        channel_id=channel.pk,
        kind=channel.kind,
        url=url,
        title=delivery.title,
        body=delivery.body,
        notice=delivery.notice,
    )
    if channel.kind != AlertChannel.Kind.WEBHOOK:
        return out
    event_id, event_type, payload = webhook_body(delivery)
    return replace(
        out, payload=payload, event_id=event_id, event_type=event_type, signing_secret=signing_secret(channel)
    )


def webhook_body(delivery: AlertDelivery) -> tuple[str, str, bytes]:
    """The event id, type and JSON body of a webhook delivery: shaped as Vox's own events
    ({id, type, created, data}) so a receiver can reuse its parsing, de-duplication and
    verification. The same bytes for every attempt (the signature's t changes)."""
    alert = delivery.alert
    event_id = f"vxd_alert_{delivery.pk}"
    event_type = f"voxdash.alert.{delivery.notice}"
    data: dict = {
        "notice": delivery.notice,
        "title": delivery.title,
        "text": delivery.body,
        "channel": delivery.channel_name,
        "rule": None,
        "alert": None,
    }
    if alert is not None:
        data["rule"] = {"id": alert.rule_id, "kind": alert.rule.kind, "name": alert.rule.name}
        data["alert"] = {
            "id": alert.pk,
            "subject": alert.subject,
            "subject_label": alert.subject_label,
            "summary": alert.summary,
            "value": alert.value,
            "link": absolute_link(alert.link),
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        }
    body = {"id": event_id, "type": event_type, "created": delivery.created_at.isoformat(), "data": data}
    return event_id, event_type, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _record(claim: _Claim, error: str | None, *, now: datetime, final: bool = False) -> None:
    """Write one attempt's result, if the claim is still ours, and the channel's last result."""
    delivery = claim.delivery
    if error is None:
        updated = claim.mine.update(state=State.DELIVERED, delivered_at=now, sending_since=None)
        if updated and delivery.channel_id:
            AlertChannel.objects.filter(pk=delivery.channel_id).update(last_delivered_at=now)
    else:
        text = f"Attempt {delivery.attempts}: {error}"[:ERROR_CHARS]
        retry_at = now + timedelta(minutes=BACKOFF_MINUTES[min(delivery.attempts, len(BACKOFF_MINUTES)) - 1])
        # Tests are not retried: whoever pressed the button reads the result.
        give_up = final or delivery.notice == Notice.TEST or retry_at - delivery.created_at > GIVE_UP_AFTER
        updated = claim.mine.update(
            state=State.GAVE_UP if give_up else State.RETRYING,
            next_attempt_at=now if give_up else retry_at,
            sending_since=None,
            last_error=text,
        )
        if updated and delivery.channel_id:
            AlertChannel.objects.filter(pk=delivery.channel_id).update(last_failed_at=now, last_error=text)
        fields = {
            "delivery": delivery.pk,
            "channel": delivery.channel_name,
            "notice": delivery.notice,
            "attempt": delivery.attempts,
            "outcome": "gave_up" if give_up else "retrying",
        }
        logger.warning("alert delivery failed: %s", text, extra={"fields": fields})
    if not updated:
        # Our claim ran past its lease and another run took the row over: its result stands.
        logger.info("alert delivery %s was taken over by another sender", delivery.pk)


def _release(claim: _Claim) -> None:
    """Give back a claimed delivery that was not tried, as it was (its attempt not counted)."""
    claim.mine.update(state=claim.previous_state, sending_since=None, attempts=F("attempts") - 1)
