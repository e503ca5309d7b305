"""Writing calls into the mirror: a page of the list (`call_merge_listing`) and one webhook event
(`call_merge_event`). Both go through `_merge` and the one table `RULES`, which is the package
docstring's table as code (tests/mirror/test_merge_rules.py walks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from voxdash.calls.models import Call, SyncState
from voxdash.vox import statuses, types

from .fields import fitted
from .placements import placements_follow
from .rollup import ROLLUP_FIELDS, RollupDelta, rollup_apply
from .signals import calls_mirrored
from .sync import CREATED, UNCHANGED, UPDATED

# --- the rules, per field and per source (see the package docstring for the why of each)
WRITES = "writes"  # the source's value is written
GROWS = "grows"  # written unless empty: a null never erases a known value
GROWS_IF_CURRENT = "grows if current"  # as GROWS, but only from a row whose status may move
FILLS = "fills"  # written only where the mirror has nothing yet
FOLLOWS_STATUS = "follows the status"  # written with the status, when the status moves
UNKNOWN_WITH_NEW_STATUS = "unknown with a new status"  # None when the status changes value
STATUS = "status"  # moves by `status_moves`
NEVER = "never"

LIST, EVENT = 0, 1
RULES: dict[str, tuple[str, str]] = {
    # field: (what a listed call does, what a webhook event does)
    "status": (STATUS, STATUS),
    "status_at": (UNKNOWN_WITH_NEW_STATUS, FOLLOWS_STATUS),
    "failure_reason": (NEVER, FOLLOWS_STATUS),
    "duration_seconds": (GROWS_IF_CURRENT, GROWS),
    "started_at": (GROWS_IF_CURRENT, FILLS),
    "ended_at": (GROWS_IF_CURRENT, FILLS),
    "recording_url": (NEVER, GROWS),
    "direction": (WRITES, FILLS),
    "business_id": (WRITES, NEVER),
    "customer_phone": (WRITES, NEVER),
    "customer_name": (WRITES, NEVER),
    "created_at": (WRITES, NEVER),
    "raw": (WRITES, NEVER),
}
LISTED_FIELDS = tuple(name for name, (listed, _) in RULES.items() if listed != NEVER)
_NO_TIME = datetime.min.replace(tzinfo=UTC)


def status_moves(stored: str, stored_at: datetime | None, offered: str, at: datetime | None) -> bool:
    """Whether `offered` (known since `at`; None: the list's word, which has no time) replaces `stored`.

    A terminal status never goes back to a non-terminal one. Otherwise the list's word is Vox's
    present one and wins; an event wins when it ends the call or is later than the stored status
    (a row written by the list has no status time, so any event is later).
    """
    if not stored:
        return True
    if statuses.is_terminal(stored) and not statuses.is_terminal(offered):
        return False
    if at is None:
        return True
    return (statuses.is_terminal(offered) and not statuses.is_terminal(stored)) or at > (
        stored_at or _NO_TIME
    )


def _empty(value: Any) -> bool:
    return value is None or value == ""


# Per source, the rule of each field it offers (the merge looks one up per changed field).
_RULES_OF = (
    {name: rules[LIST] for name, rules in RULES.items()},
    {name: rules[EVENT] for name, rules in RULES.items()},
)


def _merge(
    stored: dict[str, Any], offered: dict[str, Any], source: int, at: datetime | None
) -> dict[str, Any]:
    """The fields `offered` changes in `stored` under RULES, with their new values."""
    moves = status_moves(stored["status"], stored.get("status_at"), offered["status"], at)
    rules = _RULES_OF[source]
    changes = {}
    for name, value in offered.items():
        if stored[name] == value:  # most fields of most rows: nothing to decide
            continue
        rule = rules[name]
        if rule == WRITES:
            write = True
        elif rule == STATUS or rule == FOLLOWS_STATUS:
            write = moves
        elif rule == GROWS:
            write = not _empty(value)
        elif rule == GROWS_IF_CURRENT:
            # A list row that would move a terminal status back is older news, times and all.
            write = moves and not _empty(value)
        elif rule == FILLS:
            write = not _empty(value) and _empty(stored[name])
        elif rule == UNKNOWN_WITH_NEW_STATUS:
            # The list has no time for a status: one it changes is true since an unknown time.
            write = moves and offered["status"] != stored["status"]
        else:
            write = False
        if write:
            changes[name] = value
    if changes.get("failure_reason") == "" and offered["status"] != statuses.COMPLETED:
        # A reason belongs to the status that won: only a later `completed` clears a failed one's.
        del changes["failure_reason"]
    return changes


# --- the list
def _listed_values(call: types.Call) -> dict[str, Any]:
    duration = call.duration_seconds
    return fitted(
        Call,
        {
            "business_id": call.business_id or "",
            "direction": call.direction,
            "status": call.status,
            "status_at": None,
            "customer_phone": call.customer_phone,
            "customer_name": call.customer_name or "",
            "duration_seconds": duration if duration is None or duration >= 0 else None,
            "started_at": call.started_at,
            "ended_at": call.ended_at,
            "created_at": call.created_at,
            "raw": dict(call.raw),
        },
    )


def call_merge_listing(
    calls: Sequence[types.Call], *, state: SyncState | None = None, state_fields: Sequence[str] = ()
) -> list[str]:
    """Merge one listed page in one transaction; the outcome (created/updated/unchanged) of each call.

    Reads the stored rows first (locked, so a webhook's update waits for this page rather than
    being overwritten by it), merges in Python, then writes only what changed: new rows with one
    INSERT and changed rows with one INSERT … ON CONFLICT DO UPDATE, and the stats rollup's
    difference (`rollup.RollupDelta`). `state` (with `state_fields`) is saved in the same
    transaction, so a sync's resume point never runs ahead of the page it follows.
    """
    with transaction.atomic():
        while True:
            outcomes, new, changed, recopied, delta = _listing_changes(calls)
            try:
                # A savepoint: a webhook may have created one of the new calls since the read
                # (no row to lock then). Its row and rollup count are committed, so the page is
                # merged again, into that row, rather than counted a second time.
                with transaction.atomic():
                    if new:
                        Call.objects.bulk_create(new.values())
                break
            except IntegrityError:
                continue
        if changed:
            Call.objects.bulk_create(
                changed.values(),
                update_conflicts=True,
                unique_fields=["vox_id"],
                update_fields=[*LISTED_FIELDS, "last_seen_at"],
            )
        rollup_apply(delta)
        # Placed calls keep a copy of their call's key, createdAt and status (the history's
        # placed-call filters order and filter by it): a new call may be one a placement was
        # linked to by id, a call first known from a webhook is listed with Vox's own createdAt,
        # and a listed call's status moves.
        placements_follow([*new, *recopied])
        if state is not None:
            state.last_page_at = timezone.now()
            state.save(update_fields=["last_page_at", *state_fields])
    if new or changed:
        calls_mirrored.send(sender=Call, created=list(new), updated=list(changed))
    return outcomes


def _listing_changes(
    calls: Sequence[types.Call],
) -> tuple[list[str], dict[str, Call], dict[str, Call], list[str], RollupDelta]:
    """The page merged into the stored rows (read locked): outcomes, new and changed rows, the
    ids of the changed ones whose createdAt or status moved (placed calls copy both), and the
    rollup's difference."""
    outcomes: list[str] = []
    new: dict[str, Call] = {}
    changed: dict[str, Call] = {}
    recopied: list[str] = []
    delta = RollupDelta()
    stored = {
        row["vox_id"]: row
        for row in Call.objects.select_for_update()
        .filter(vox_id__in=[c.id for c in calls])
        .values("vox_id", *LISTED_FIELDS)
    }
    for call in calls:
        if call.id in new or call.id in changed:  # the same call twice on one page: first wins
            outcomes.append(UNCHANGED)
            continue
        old = stored.get(call.id)
        values = _listed_values(call)
        if old is None:
            new[call.id] = Call(vox_id=call.id, **values)
            delta.change(None, values)
            outcomes.append(CREATED)
            continue
        changes = _merge(old, values, LIST, None)
        if not changes:
            outcomes.append(UNCHANGED)
            continue
        merged = {**{f: old[f] for f in LISTED_FIELDS}, **changes}
        changed[call.id] = Call(vox_id=call.id, **merged)
        if "created_at" in changes or "status" in changes:
            recopied.append(call.id)
        delta.change(old, merged)
        outcomes.append(UPDATED)
    return outcomes, new, changed, recopied, delta


# --- webhook events
@dataclass(frozen=True)
class CallEvent:
    """What a webhook event says about a call, as webhooks parsed it (values not yet checked)."""

    call_id: str
    type: str
    at: datetime  # the event's time by Vox's clock (when it is missing, when it was received)
    status: str = ""  # empty: the status the event type implies
    direction: str = ""
    duration_seconds: int | None = None
    recording_url: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Merged:
    created: bool
    changed: tuple[str, ...]
    detail: str


def _event_values(event: CallEvent) -> dict[str, Any]:
    duration = event.duration_seconds
    url = event.recording_url
    ends = event.type in (statuses.CALL_COMPLETED, statuses.CALL_FAILED)
    return fitted(
        Call,
        {
            "status": event.status or statuses.EVENT_STATUS[event.type],
            "status_at": event.at,
            "failure_reason": event.reason if event.type == statuses.CALL_FAILED else "",
            # Pages link to it and play it: a javascript: or data: URL must never be stored.
            "recording_url": url if url.lower().startswith(("https://", "http://")) else "",
            "duration_seconds": duration if duration is not None and duration >= 0 else None,
            "direction": event.direction,
            "started_at": event.at if event.type == statuses.CALL_STARTED else None,
            "ended_at": event.at if ends else None,
        },
    )


def call_merge_event(event: CallEvent) -> Merged:
    """Merge one event into its call (creating what is known of a call never listed). Call inside a
    transaction; the created call is announced (`calls_mirrored`) after commit, like the list's."""
    values = _event_values(event)
    # Create what we know about a call never listed, then lock the row: two workers applying
    # events for one call serialize here, so neither can overwrite the other with stale values.
    call, created = Call.objects.get_or_create(
        vox_id=event.call_id,
        defaults={
            "direction": values["direction"],
            "status": "",
            "customer_phone": "",
            "created_at": event.at,
        },
    )
    call = Call.objects.select_for_update().get(pk=call.pk)
    before = call.status
    counted = None if created else {name: getattr(call, name) for name in ROLLUP_FIELDS}
    changes = _merge({name: getattr(call, name) for name in values}, values, EVENT, event.at)
    for name, value in changes.items():
        setattr(call, name, value)
    call_id = event.call_id
    if created or changes:
        # The stats rollup moves with the row, in this transaction (a new call: counted once).
        delta = RollupDelta()
        delta.change(counted, {name: getattr(call, name) for name in ROLLUP_FIELDS})
        rollup_apply(delta)
    if created:
        call.save()
        placements_follow([call_id])  # a placement may be linked to this id already
        transaction.on_commit(lambda: calls_mirrored.send(sender=Call, created=[call_id], updated=[]))
        return Merged(True, tuple(changes), f"created call {call_id} as {call.status}")
    if not changes:
        return Merged(False, (), f"call {call_id}: nothing new (stays {call.status})")
    call.save(update_fields=[*changes, "last_seen_at"])
    if "status" in changes:
        placements_follow([call_id])  # placed calls copy the status (the history's filters)
    # Changed calls are announced too (the signal's promise): a campaign waits for its calls' ends.
    transaction.on_commit(lambda: calls_mirrored.send(sender=Call, created=[], updated=[call_id]))
    fields = ", ".join(changes)
    if "status" in changes:
        return Merged(False, tuple(changes), f"call {call_id}: {before} -> {call.status}; {fields}")
    return Merged(False, tuple(changes), f"call {call_id}: stays {call.status}; {fields}")
