"""Running a campaign: its state machine (start, pause, resume, cancel) and the dispatcher that
dials each row exactly once per attempt. The dispatcher runs only in Celery (`tasks.py`: beat,
and a request on start, resume and each outcome the mirror hears of).

One dispatch run, repeated while there is something to send and time left:
1. `outcomes_collect`: each IN_FLIGHT row whose call the mirror knows has ended is settled or,
   after a no-answer, busy or failed call with attempts left, waits `retry_after_minutes` for its
   next attempt; no outcome within VOXDASH_CAMPAIGN_OUTCOME_TIMEOUT_MINUTES makes it UNKNOWN
   (never retried blindly: the customer may have been called).
2. `campaigns_finish`: a running campaign with no open row is finished.
3. For each running campaign whose window is open, `_claim` takes, in one short transaction that
   locks the campaign's row, the DIALING rows whose lease ran out (their worker died: sent again
   with the same key) and up to `max_in_flight - in flight` due PENDING rows, lowest number first
   (state DIALING, attempts + 1). Then, outside any transaction, each row (SENDERS threads at
   once): the guard (do-not-call, window), the attempt's `PlacedCall` (its key: `attempt_key`),
   `placement_send` at background priority, and IN_FLIGHT once Vox accepted it.
A run goes round again while some campaign fills whole batches; a campaign at its max_in_flight
waits for the outcomes, each of which asks for a run (queue.py), and beat runs one every
VOXDASH_CAMPAIGN_DISPATCH_EVERY seconds whatever happens.

Exactly once per row and attempt: the attempt (row DIALING, its PlacedCall pending) is on record
before the request, and its key depends only on the campaign, the row and the attempt number.
Whatever repeats the send — recovery after a kill, a second worker, a retried task, the client's
own retry after a lost response — Vox sees the same key and dials once.

What an error means for the row (`_after_error`):
- voxdash's own budget spent: nothing was sent; the row goes back (same attempt number, so the
  same key) and this run stops; the next run continues.
- a 429 anyway, a timeout, a 5xx, a lost response: Vox may have queued it. The row stays DIALING
  and is sent again with the same key after RESEND_PAUSE (not the whole lease: no worker is
  sending it, we saw the error ourselves). A 429 or an unreachable Vox also ends this run.
- 401/403 (the key, its scopes or this server's address) or 404 (the base URL): a setting to
  fix, not the row's fault: the circuit breaker pauses the campaign and says what to fix; the row
  was not dialled and goes back.
- any other refusal (422, 400, a key reused with another body): the row FAILED with Vox's reason.

The breaker also pauses a campaign when more than half of its latest 20 outcomes (since it was
started or last resumed) are failures: calls that ended `failed` or `canceled`, and attempts Vox
refused. `no_answer` and `busy` are the customer's doing, not a sign that something is wrong.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from voxdash.audit.log import Action as AuditAction
from voxdash.audit.log import audit_record
from voxdash.calls.models import Call
from voxdash.mirror.placements import placement_mirrored_call
from voxdash.placements.guard import DO_NOT_CALL, placement_guard
from voxdash.placements.models import ACCEPTED_OUTCOMES, PlacedCall, payload_fingerprint
from voxdash.placements.services import placement_send
from voxdash.vox import errors, statuses
from voxdash.vox.budget import BACKGROUND

from .models import IN_FLIGHT_ROW_STATES, OPEN_ROW_STATES, Campaign, CampaignEvent, CampaignRow

logger = logging.getLogger("voxdash.campaigns")

State = Campaign.State
RowState = CampaignRow.State
Action = CampaignEvent.Action

START, PAUSE, RESUME, CANCEL = "start", "pause", "resume", "cancel"

# Rows claimed in one transaction: keeps the campaign's lock short and each lease honest (a
# claimed row waits for the ones before it to be sent).
CLAIM_BATCH = 50
# Rows of a batch sent at once (threads, each with its own database connection): _send_batch.
SENDERS = 8
# While a batch is being sent (slowly, when the budget is tight), outcomes are collected this often.
COLLECT_EVERY = 2.0
# After an error that left the outcome unknown, the row is sent again (same key) this much later.
RESEND_PAUSE = timedelta(seconds=15)
# The circuit breaker's window: more than half of this many latest outcomes failed.
BREAKER_OUTCOMES = 20

# A Vox status that ends a call -> the row's state when no attempt is left.
_ROW_STATE_BY_STATUS = {
    statuses.COMPLETED: RowState.COMPLETED,
    statuses.NO_ANSWER: RowState.NO_ANSWER,
    statuses.BUSY: RowState.BUSY,
    statuses.FAILED: RowState.FAILED,
    statuses.CANCELED: RowState.FAILED,
}
_FAILED_STATUSES = (statuses.FAILED, statuses.CANCELED)
# Refusals that are a setting to fix (the key, its scopes, this server's address, the base URL).
_BREAKER_ERRORS = (errors.VoxAuthError, errors.VoxForbidden, errors.VoxNotFound)
# Errors after which Vox may have queued the call: only a repeat with the same key can tell.
_UNKNOWN_ERRORS = (errors.VoxTransientError, errors.VoxBadResponse)


# --- the state machine
@dataclass
class ActionResult:
    done: bool
    message: str  # for a flash: what happened, or why nothing did
    state: str = ""  # the campaign's state after it ("": there is no such campaign)


# action -> (the states it applies to, the state it leads to, its event, the flash)
_ACTIONS = {
    START: ((State.DRAFT,), State.RUNNING, Action.STARTED, "Campaign started."),
    PAUSE: (
        (State.RUNNING,),
        State.PAUSED,
        Action.PAUSED,
        "Campaign paused: no new calls until it is resumed.",
    ),
    RESUME: ((State.PAUSED,), State.RUNNING, Action.RESUMED, "Campaign resumed."),
    CANCEL: (
        (State.DRAFT, State.RUNNING, State.PAUSED),
        State.CANCELLED,
        Action.CANCELLED,
        "Campaign cancelled: no new calls; calls already placed run their course.",
    ),
}
_VERBS = {START: "started", PAUSE: "paused", RESUME: "resumed", CANCEL: "cancelled"}
_AS_IT_STANDS = {
    State.DRAFT: "It has not been started yet",
    State.RUNNING: "It is running",
    State.PAUSED: "It is paused",
    State.CANCELLED: "It was cancelled",
    State.FINISHED: "It has finished",
}
# The same press again (twice, or from two tabs): said as such, not as an error.
_ALREADY = {
    (START, State.RUNNING): "It was already started.",
    (START, State.PAUSED): "It was already started; it is paused now.",
    (PAUSE, State.PAUSED): "It was already paused.",
    (RESUME, State.RUNNING): "It is already running.",
    (CANCEL, State.CANCELLED): "It was already cancelled.",
}


# action -> what the audit log calls it
_AUDITED = {
    START: AuditAction.CAMPAIGN_STARTED,
    PAUSE: AuditAction.CAMPAIGN_PAUSED,
    RESUME: AuditAction.CAMPAIGN_RESUMED,
    CANCEL: AuditAction.CAMPAIGN_CANCELLED,
}


def campaign_act(*, campaign_id: int, action: str, user, request=None) -> ActionResult:
    """Start, pause, resume or cancel a campaign, once, recording who did it (in its events and,
    with `request` for the address, in the audit log).

    The campaign's row is locked first (on SQLite every transaction takes the write lock:
    settings' transaction_mode IMMEDIATE), so two presses at once run one after the other and the
    second finds the state the first left: one STARTED event, one run, one audit entry.
    """
    if action not in _ACTIONS:
        raise ValueError(f"unknown campaign action {action!r}")
    applies_to, new_state, event, message = _ACTIONS[action]
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            return ActionResult(False, "This campaign no longer exists.")
        if campaign.state not in applies_to:
            return ActionResult(False, _not_applicable(action, campaign.state), campaign.state)
        campaign.state = new_state
        fields = ["state"]
        note = ""
        detail = {}
        if action == START:
            campaign.started_at = now
            fields.append("started_at")
        elif action == RESUME:
            note = campaign.pause_reason  # what it was paused for, kept with the resume
            detail = {"paused_for": note} if note else {}
            campaign.pause_reason = ""
            fields.append("pause_reason")
        elif action == CANCEL:
            campaign.finished_at = now
            fields.append("finished_at")
            # Rows claimed for a dial but not yet sent are stopped by the dispatcher, which reads
            # the state again before each send; rows already placed run their course.
            cancelled = campaign.rows.filter(state=RowState.PENDING).update(
                state=RowState.CANCELLED, reason="The campaign was cancelled.", next_attempt_at=None
            )
            note = f"{cancelled} rows not dialled" if cancelled else ""
            detail = {"not_dialled": cancelled} if cancelled else {}
        campaign.save(update_fields=fields)
        CampaignEvent.objects.create(
            campaign=campaign, action=event, user=user, username=_username(user), note=note
        )
        audit_record(
            action=_AUDITED[action],
            request=request,
            user=user,
            target=campaign,
            detail=detail,
        )
    logger.info("campaign %s %s by %s", campaign_id, _VERBS[action], _username(user) or "voxdash")
    return ActionResult(True, message, new_state)


def _not_applicable(action: str, state: str) -> str:
    already = _ALREADY.get((action, state))
    if already:
        return already
    return f"{_AS_IT_STANDS[state]}, so it cannot be {_VERBS[action]}."


def _username(user) -> str:
    return user.get_username() if user is not None else ""


# --- the dispatcher
def dial_lease() -> timedelta:
    """How long a claimed row's send may take before another run sends it again (same key).

    Longer than the client can spend on one send: the budget's background wait, then every
    attempt's connect and read timeouts and the waits between them. A shorter lease would only
    cost a second request with the same key (Vox still dials once); a longer one delays recovery
    after a killed worker.
    """
    s = settings
    budget_wait = s.VOX_SYNC_BUDGET_WAIT if s.VOX_REQUESTS_PER_MINUTE else 0.0
    attempts = s.VOX_MAX_RETRIES + 1
    seconds = (
        budget_wait
        + attempts * (s.VOX_CONNECT_TIMEOUT + s.VOX_READ_TIMEOUT)
        + s.VOX_MAX_RETRIES * s.VOX_MAX_RETRY_WAIT
        + 5.0
    )
    return timedelta(seconds=seconds)


def outcome_timeout() -> timedelta:
    return timedelta(minutes=settings.VOXDASH_CAMPAIGN_OUTCOME_TIMEOUT_MINUTES)


def campaigns_dispatch(*, now: datetime | None = None, time_budget: float = 30.0) -> int:
    """Collect outcomes, finish what is done and dial what is due, while there is something to
    send and `time_budget` seconds left; return the attempts Vox accepted in this run.

    `now` (tests): the clock for every decision (windows, retries, leases, timeouts).
    Work that is due later (a retry, a window that opens tonight) is beat's next run's; a slot
    that frees is the next outcome's (each queues a run, queue.py).
    """
    clock = (lambda: now) if now is not None else timezone.now
    began = time.monotonic()
    accepted = 0
    while True:
        at = clock()
        outcomes_collect(now=at)
        campaigns_finish(now=at)
        more, sent, stop = _dispatch_round(clock=clock)
        accepted += sent
        # Round again only while some campaign had more rows to send than one batch: a campaign
        # at its max_in_flight waits for outcomes, and looping would only collect them busily,
        # taking the worker from the webhooks that bring them.
        if stop or not more or time.monotonic() - began >= time_budget:
            return accepted


@dataclass
class _Claim:
    row: CampaignRow
    lease_until: datetime
    recovering: bool  # a DIALING row sent again after its lease ran out (same attempt, same key)
    records: list[PlacedCall] = field(default_factory=list)  # its attempt's, oldest first


# What one row's send leads to, for the rest of the round (a higher rank wins).
_NEXT, _STOP_CAMPAIGN, _STOP_RUN = "next", "stop_campaign", "stop_run"
_RANK = {_NEXT: 0, _STOP_CAMPAIGN: 1, _STOP_RUN: 2}


def _dispatch_round(*, clock) -> tuple[bool, int, bool]:
    """One batch per running campaign: (whether a campaign filled a whole batch, so may have
    more to send now; attempts accepted; whether to stop the run)."""
    more, accepted = False, 0
    for campaign_id in Campaign.objects.filter(state=State.RUNNING).values_list("id", flat=True):
        claims = _claim(campaign_id=campaign_id, now=clock())
        more = more or len(claims) >= CLAIM_BATCH
        verdict, sent = _send_batch(campaign_id=campaign_id, claims=claims, clock=clock)
        accepted += sent
        if verdict == _STOP_RUN:
            return more, accepted, True
    return more, accepted, False


def _send_batch(*, campaign_id: int, claims: list[_Claim], clock) -> tuple[str, int]:
    """Send a campaign's claimed rows, SENDERS at a time; stop at the first row whose outcome
    says so, giving back the rows not sent yet. (the verdict, attempts accepted)

    Several at once because a send is mostly waiting (for Vox, for the database's commits): one
    at a time, a worker would dial ~20 rows a second. Each sender thread has its own database
    connection, which sees only committed rows: inside a transaction (a caller's atomic block,
    a test's) the claims are not committed yet, so the rows are sent from this thread.
    """
    pending = deque(claims)
    lock = threading.Lock()
    outcome = {"verdict": _NEXT, "accepted": 0}

    def send_some(own_connection: bool) -> None:
        try:
            while True:
                with lock:
                    if outcome["verdict"] != _NEXT or not pending:
                        return
                    claim = pending.popleft()
                verdict, sent = _attempt(campaign_id=campaign_id, claim=claim, clock=clock)
                with lock:
                    outcome["accepted"] += sent
                    if _RANK[verdict] > _RANK[outcome["verdict"]]:
                        outcome["verdict"] = verdict
        finally:
            if own_connection:
                connections.close_all()  # this thread's only

    senders = min(SENDERS, len(claims))
    if senders <= 1 or connection.in_atomic_block:
        send_some(own_connection=False)
    else:
        threads = [threading.Thread(target=send_some, args=(True,), daemon=True) for _ in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            # A batch waiting for the budget takes as long as its tokens: meanwhile, outcomes
            # are still recorded (and a row's retry or final state does not wait for the batch).
            while thread.join(COLLECT_EVERY) is None and thread.is_alive():
                outcomes_collect(now=clock())
    for claim in pending:
        _release(claim, now=clock())
    return outcome["verdict"], outcome["accepted"]


def _claim(*, campaign_id: int, now: datetime) -> list[_Claim]:
    """Take this campaign's rows to send now, within its max_in_flight (see the module's doc)."""
    lease_until = now + dial_lease()
    with transaction.atomic():
        # Every claimer locks the campaign first, so two workers count and claim one at a time
        # and together never exceed max_in_flight.
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id, state=State.RUNNING).first()
        if campaign is None or not campaign.window.contains(now):
            return []
        rows = CampaignRow.objects.filter(campaign=campaign)
        stale = list(
            rows.filter(state=RowState.DIALING, next_attempt_at__lte=now).order_by("number")[:CLAIM_BATCH]
        )
        in_flight = rows.filter(state__in=IN_FLIGHT_ROW_STATES).count()  # the stale rows among them
        free = min(campaign.max_in_flight - in_flight, CLAIM_BATCH - len(stale))
        fresh = []
        if free > 0:
            due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
            fresh = list(rows.filter(due, state=RowState.PENDING).order_by("number")[:free])
        if stale:
            rows.filter(pk__in=[r.pk for r in stale]).update(next_attempt_at=lease_until)
        if fresh:
            rows.filter(pk__in=[r.pk for r in fresh]).update(
                state=RowState.DIALING,
                attempts=F("attempts") + 1,
                dial_started_at=now,
                next_attempt_at=lease_until,
            )
    claims = []
    for row in stale:
        claims.append(_Claim(row, lease_until, recovering=True))
    for row in fresh:
        row.state, row.attempts, row.dial_started_at = RowState.DIALING, row.attempts + 1, now
        claims.append(_Claim(row, lease_until, recovering=False))
    for claim in claims:
        claim.row.campaign = campaign  # for its key, without a query per row
        claim.row.next_attempt_at = lease_until
    # The attempts' records so far (a killed worker's, one given back): one query for the batch.
    # Nobody else adds one while the rows are claimed.
    by_key = {claim.row.key(): claim for claim in claims}
    for record in PlacedCall.objects.filter(idempotency_key__in=list(by_key)).order_by("attempted_at", "id"):
        by_key[record.idempotency_key].records.append(record)
    return sorted(claims, key=lambda c: c.row.number)


def _mine(claim: _Claim):
    """The claimed row, as long as nobody else has taken it over (its lease is still ours)."""
    row = claim.row
    return CampaignRow.objects.filter(
        pk=row.pk, state=RowState.DIALING, attempts=row.attempts, next_attempt_at=claim.lease_until
    )


def _attempt(*, campaign_id: int, claim: _Claim, clock) -> tuple[str, int]:
    """Send one claimed row's attempt: (what the round does next, 1 if Vox accepted it)."""
    row = claim.row
    campaign = row.campaign
    now = clock()
    # Read again before each send: a cancel or a pause stops new dials at once.
    if Campaign.objects.filter(pk=campaign_id).values_list("state", flat=True).first() != State.RUNNING:
        _release(claim, now=now)
        return _STOP_CAMPAIGN, 0
    lease = dial_lease()
    if claim.lease_until - now < lease / 2:
        # Half the lease is gone (the batch's earlier sends waited for the budget): renew it for
        # this send; if another run has taken the row over meanwhile, it is that run's now.
        if not _mine(claim).update(next_attempt_at=now + lease):
            return _NEXT, 0
        claim.lease_until = row.next_attempt_at = now + lease

    key, records = row.key(), claim.records
    if any(r.reached_vox for r in records):
        # Accepted before (the worker died before it could say so): nothing to send.
        _in_flight(claim)
        return _NEXT, 0

    refusal = placement_guard(customer_phone=row.customer_phone, window=campaign.window, at=now)
    if refusal is not None and refusal.code == DO_NOT_CALL:
        # Added to the list after the draft was checked: never dialled.
        _settle_unsent(claim, state=RowState.DO_NOT_CALL, reason=refusal.message, now=now)
        return _NEXT, 0
    if refusal is not None:  # the window closed meanwhile: wait for it to open again
        _release(claim, now=now)
        return _STOP_CAMPAIGN, 0

    record = _attempt_record(campaign=campaign, row=row, key=key, records=records)
    attempt = placement_send(record=record, priority=BACKGROUND)
    if attempt.error is None:
        _in_flight(claim)
        return _NEXT, 1
    return _after_error(campaign=campaign, claim=claim, error=attempt.error, now=clock()), 0


def _payload(campaign: Campaign, row: CampaignRow) -> dict:
    payload = {
        "customer_phone": row.customer_phone,
        "purpose": campaign.purpose,
        "context": row.context,
        "business_voice_number_id": campaign.business_voice_number_id,
        "ai_agent_id": campaign.ai_agent_id,
    }
    if row.customer_name:
        payload["customer_name"] = row.customer_name
    return payload


def _attempt_record(*, campaign: Campaign, row: CampaignRow, key, records: list[PlacedCall]) -> PlacedCall:
    """The attempt's PlacedCall, saved pending before the request.

    One record per attempt: a send that did not get through (a killed worker's, one the budget
    stopped, one whose outcome was unknown, one the key's refusal sent back) is repeated on the
    same record, so the placed calls list shows each attempt once, with its latest outcome.
    """
    payload = _payload(campaign, row)
    record = records[-1] if records else PlacedCall(idempotency_key=key, origin=PlacedCall.Origin.CAMPAIGN)
    record.user_id = campaign.created_by_id
    record.username = campaign.created_by_name
    record.payload = payload
    record.payload_fingerprint = payload_fingerprint(payload)
    record.customer_phone = row.customer_phone
    record.origin_ref = f"{campaign.pk}:{row.number}:{row.attempts}"
    record.outcome = PlacedCall.Outcome.PENDING
    record.error_kind = record.error_message = ""
    record.error_fields = {}
    record.save()
    return record


def _in_flight(claim: _Claim) -> None:
    # The attempt time (dial_started_at) stays: the outcome timeout counts from it.
    _mine(claim).update(state=RowState.IN_FLIGHT, next_attempt_at=None)


def _release(claim: _Claim, *, now: datetime) -> None:
    """Give back a claimed row that was not sent: a fresh claim is PENDING again with its attempt
    undone (the next claim takes the same attempt number, so the same key), or CANCELLED if the
    campaign was; a recovering one stays DIALING, free to be claimed (or, after a cancel, judged
    by `outcomes_collect`) at once."""
    if claim.recovering:
        _mine(claim).update(next_attempt_at=now)
        return
    if Campaign.objects.filter(pk=claim.row.campaign_id, state=State.CANCELLED).exists():
        _mine(claim).update(
            state=RowState.CANCELLED,
            attempts=F("attempts") - 1,
            reason="The campaign was cancelled.",
            next_attempt_at=None,
            dial_started_at=None,
        )
        return
    _mine(claim).update(
        state=RowState.PENDING,
        attempts=F("attempts") - 1,
        next_attempt_at=None if claim.row.attempts == 1 else now,
        dial_started_at=None,
    )


def _settle_unsent(claim: _Claim, *, state: str, reason: str, now: datetime) -> None:
    """A claimed row that will not be dialled at all (the do-not-call list)."""
    values = {"state": state, "reason": reason[:255], "next_attempt_at": None, "finished_at": now}
    if not claim.recovering:  # nothing was sent for this attempt
        values["attempts"] = F("attempts") - 1
    _mine(claim).update(**values)


def _after_error(*, campaign: Campaign, claim: _Claim, error: errors.VoxError, now: datetime) -> str:
    row = claim.row
    if isinstance(error, errors.VoxBudgetExhausted):
        # voxdash's own budget: nothing left this machine. The next run continues.
        _release(claim, now=now)
        return _STOP_RUN
    if isinstance(error, _UNKNOWN_ERRORS):
        pause = RESEND_PAUSE
        if isinstance(error, errors.VoxRateLimited) and error.retry_after:
            pause = max(pause, timedelta(seconds=error.retry_after))
        _mine(claim).update(next_attempt_at=now + pause)
        logger.warning(
            "campaign %s row %s: outcome unknown (%s); sent again with its key after %ss",
            campaign.pk,
            row.number,
            type(error).__name__,
            int(pause.total_seconds()),
        )
        # A key in progress is this row's business; a 429, a timeout or an outage is everyone's.
        return _NEXT if isinstance(error, errors.RequestInProgress) else _STOP_RUN
    if isinstance(error, _BREAKER_ERRORS):
        _release(claim, now=now)
        reason = f"Vox refused voxdash's request ({_status_of(error)}): {error.user_message} {error.hint}"
        campaign_breaker_trip(campaign_id=campaign.pk, reason=f"{reason} Then resume the campaign.")
        return _STOP_CAMPAIGN
    # Vox refused this very call (422, 400, a key used with another body): not retried.
    values = {
        "state": RowState.FAILED,
        "reason": _refusal_reason(error)[:255],
        "next_attempt_at": None,
        "finished_at": now,
        "outcome_at": now,
    }
    _mine(claim).update(**values)
    return _STOP_CAMPAIGN if _failures_trip(campaign=campaign) else _NEXT


def _status_of(error: errors.VoxError) -> str:
    return f"HTTP {error.status}" if error.status else type(error).__name__


def _refusal_reason(error: errors.VoxError) -> str:
    if isinstance(error, errors.VoxValidationError) and error.details:
        details = "; ".join(f"{d.field}: {d.message}" for d in error.details)
        return f"Vox refused the call: {details}"
    return f"Vox refused the call: {error.message}"


# --- outcomes
def outcomes_collect(*, now: datetime) -> int:
    """Settle the rows whose attempt has an outcome; return how many changed.

    Outcomes come from the mirror (webhooks and the sync), matched to the attempt's placement by
    the mirror's one rule (`placement_mirrored_call`). Paused and cancelled campaigns' calls are
    recorded too. Each change applies only to a row still in flight on that very attempt, so a
    duplicate or late outcome, or two runs at once, cannot count twice or undo a later state.
    """
    rows = list(
        CampaignRow.objects.filter(
            campaign__state__in=(State.RUNNING, State.PAUSED, State.CANCELLED),
            state__in=IN_FLIGHT_ROW_STATES,
        ).select_related("campaign")
    )
    if not rows:
        return 0
    by_key = {row.key(): row for row in rows}
    placed: dict = {}
    accepted = PlacedCall.objects.filter(idempotency_key__in=list(by_key), outcome__in=ACCEPTED_OUTCOMES)
    for record in accepted.exclude(vox_placement_id="").order_by("attempted_at", "id"):
        placed.setdefault(record.idempotency_key, record)  # the first accepted is the placement
    linked = Call.objects.in_bulk(
        [r.listed_call_id for r in placed.values() if r.listed_call_id], field_name="vox_id"
    )
    findable = _findable(r for r in placed.values() if not r.listed_call_id)
    timeout = outcome_timeout()
    changed, touched = 0, set()
    for key, row in by_key.items():
        record = placed.get(key)
        if row.state == RowState.DIALING:
            changed += _dialing_check(row, record, now=now, timeout=timeout)
            continue
        call = None
        if record is not None and record.listed_call_id:
            call = linked.get(record.listed_call_id)
        elif record is not None and record.pk in findable:
            call = placement_mirrored_call(record)  # the mirror's rule links it
        if call is not None and statuses.is_terminal(call.status):
            if _outcome_apply(row, call, now=now):
                changed += 1
                touched.add(row.campaign)
        elif row.dial_started_at and row.dial_started_at < now - timeout:
            changed += _unknown(row, now=now, timeout=timeout)
    for campaign in touched:
        if campaign.state == State.RUNNING:
            _failures_trip(campaign=campaign)
    return changed


def _findable(records) -> set[int]:
    """Of these unlinked placements, those the mirror holds a candidate call for (its id, or its
    phone since it was placed): the matching rule itself runs only for them, not for every
    placement still waiting for its call on every run."""
    records = list(records)
    if not records:
        return set()
    since = min((r.vox_created_at for r in records if r.vox_created_at), default=None)
    near = Q(vox_id__in=[r.vox_placement_id for r in records])
    if since is not None:
        near |= Q(
            customer_phone__in=[r.customer_phone for r in records],
            created_at__gte=since - timedelta(seconds=1),
        )
    ids, phones = set(), set()
    for vox_id, phone in Call.objects.filter(near).values_list("vox_id", "customer_phone"):
        ids.add(vox_id)
        phones.add(phone)
    return {r.pk for r in records if r.vox_placement_id in ids or r.customer_phone in phones}


def _dialing_check(row: CampaignRow, record: PlacedCall | None, *, now: datetime, timeout: timedelta) -> int:
    """A DIALING row nobody is sending any more (its lease ran out)."""
    if row.next_attempt_at and row.next_attempt_at > now:
        return 0  # a worker is on it, or it waits out a short pause
    current = CampaignRow.objects.filter(pk=row.pk, state=RowState.DIALING, attempts=row.attempts)
    if record is not None:  # Vox accepted it; the worker died before it could record so
        return current.filter(next_attempt_at=row.next_attempt_at).update(
            state=RowState.IN_FLIGHT, next_attempt_at=None
        )
    if row.dial_started_at and row.dial_started_at < now - timeout:
        return _unknown(row, now=now, timeout=timeout)
    if row.campaign.state == State.CANCELLED:
        # Not sent again after a cancel: if Vox never heard of it, that would be a new dial.
        return current.update(
            state=RowState.UNKNOWN,
            reason="The campaign was cancelled while this call was being placed: Vox may or may not have dialled it.",
            next_attempt_at=None,
            finished_at=now,
        )
    return 0  # a running campaign's dispatcher sends it again; a paused one's, once resumed


def _unknown(row: CampaignRow, *, now: datetime, timeout: timedelta) -> int:
    minutes = int(timeout.total_seconds() // 60)
    return CampaignRow.objects.filter(pk=row.pk, state=row.state, attempts=row.attempts).update(
        state=RowState.UNKNOWN,
        reason=f"No outcome heard from Vox within {minutes} minutes; not called again.",
        next_attempt_at=None,
        finished_at=now,
    )


def _outcome_apply(row: CampaignRow, call: Call, *, now: datetime) -> bool:
    """The attempt's call ended: settle the row, or schedule its next attempt."""
    campaign = row.campaign
    status = call.status
    final = _ROW_STATE_BY_STATUS.get(status, RowState.FAILED)
    label = statuses.status_label(status)
    values = {"last_call_id": call.vox_id, "last_status": status, "outcome_at": now}
    if final != RowState.COMPLETED and row.attempts < campaign.max_attempts:
        next_at = now + timedelta(minutes=campaign.retry_after_minutes)
        local = next_at.astimezone(campaign.window.tz)
        values |= {
            "state": RowState.PENDING,
            "next_attempt_at": next_at,
            "reason": f"{label} on attempt {row.attempts} of {campaign.max_attempts}; "
            f"next attempt from {local:%d %b %H:%M} ({campaign.time_zone}), inside the calling window",
        }
    else:
        reason = ""
        if final == RowState.FAILED:
            reason = (
                f"Vox: {call.failure_reason}" if call.failure_reason else f"The call ended {label.lower()}."
            )
        elif final != RowState.COMPLETED and row.attempts > 1:
            reason = f"{label} on each of {row.attempts} attempts."
        values |= {"state": final, "next_attempt_at": None, "finished_at": now, "reason": reason[:255]}
    applied = CampaignRow.objects.filter(pk=row.pk, state=RowState.IN_FLIGHT, attempts=row.attempts).update(
        **values
    )
    return applied == 1


# --- the circuit breaker
def _failures_trip(*, campaign: Campaign) -> bool:
    """Pause `campaign` when more than half of its latest outcomes failed; whether it did."""
    since = (
        CampaignEvent.objects.filter(campaign=campaign, action__in=(Action.STARTED, Action.RESUMED))
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    recent = CampaignRow.objects.filter(campaign=campaign, outcome_at__isnull=False)
    if since is not None:
        recent = recent.filter(outcome_at__gte=since)
    latest = list(
        recent.order_by("-outcome_at", "-id").values("state", "last_status", "reason")[:BREAKER_OUTCOMES]
    )
    failed = [r for r in latest if r["state"] == RowState.FAILED or r["last_status"] in _FAILED_STATUSES]
    if len(failed) * 2 <= BREAKER_OUTCOMES:
        return False
    example = next((r["reason"] for r in failed if r["reason"]), "")
    reason = (
        f"{len(failed)} of the latest {len(latest)} calls failed"
        + (f" (the latest: {example})" if example else "")
        + ". Check the numbers, the calling number and the agent in the Cloove dashboard, then resume the campaign."
    )
    return campaign_breaker_trip(campaign_id=campaign.pk, reason=reason)


def campaign_breaker_trip(*, campaign_id: int, reason: str) -> bool:
    """The campaign pauses itself and says why on its page; False if it was not running."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id, state=State.RUNNING).first()
        if campaign is None:
            return False
        campaign.state = State.PAUSED
        campaign.pause_reason = reason
        campaign.save(update_fields=["state", "pause_reason"])
        CampaignEvent.objects.create(campaign=campaign, action=Action.BREAKER, note=reason)
        # voxdash's own action, not a person's, but cheap and wanted beside the person's resume
        # that follows: an auditor reading "resumed" should see what had paused it.
        audit_record(action=AuditAction.CAMPAIGN_PAUSED, target=campaign, detail={"reason": reason})
    logger.warning("campaign %s paused itself: %s", campaign_id, reason)
    return True


# --- finishing
def campaigns_finish(*, now: datetime) -> int:
    """Finish each running campaign whose rows are all settled; return how many finished."""
    finished = 0
    for campaign_id in Campaign.objects.filter(state=State.RUNNING).values_list("id", flat=True):
        if CampaignRow.objects.filter(campaign_id=campaign_id, state__in=OPEN_ROW_STATES).exists():
            continue
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update().filter(pk=campaign_id, state=State.RUNNING).first()
            )
            if campaign is None or campaign.rows.filter(state__in=OPEN_ROW_STATES).exists():
                continue
            campaign.state = State.FINISHED
            campaign.finished_at = now
            campaign.save(update_fields=["state", "finished_at"])
            completed = campaign.rows.filter(state=RowState.COMPLETED).count()
            CampaignEvent.objects.create(
                campaign=campaign,
                action=Action.FINISHED,
                note=f"{completed} of {campaign.rows.count()} rows completed",
            )
        finished += 1
        logger.info("campaign %s finished", campaign_id)
    return finished
