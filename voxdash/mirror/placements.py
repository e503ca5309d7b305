"""Linking a placed call to the call Vox lists for it, by one rule whether the candidates come from
the mirror or from the API's list.

Vox usually lists a placed call under the id its POST answered. When it does not (the contract
leaves it open; the simulator's `post_id_matches_list=False`), the listed call is the earliest
outbound call to the same phone created no earlier than the placement (less a second: Vox's
millisecond rounding), that no other placement has claimed. Every attempt sharing an idempotency
key is one call, so all of them are linked together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from voxdash.calls.models import Call
from voxdash.placements.models import ACCEPTED_OUTCOMES, MIRRORED_COPY, NOT_MIRRORED, PlacedCall

ROUNDING = timedelta(seconds=1)
# A placement not found in the listing within this long is not going to be linked by a new call.
LINK_WINDOW = timedelta(days=2)


class ListedCall(Protocol):
    """A mirrored `Call` (vox_id) or the API's `types.Call` (id): what the rule reads of either."""

    direction: str
    customer_phone: str
    created_at: datetime


def _vox_id(call) -> str:
    return call.vox_id if isinstance(call, Call) else call.id


def placement_match(placed: PlacedCall, candidates: Iterable[ListedCall]):
    """The candidate `placed` became, or None. `candidates` oldest first."""
    candidates = list(candidates)
    by_id = next((c for c in candidates if _vox_id(c) == placed.vox_placement_id), None)
    if by_id is not None or not placed.vox_created_at:
        return by_id
    earliest = placed.vox_created_at - ROUNDING
    fitting = [
        c
        for c in candidates
        if c.direction == "outbound"
        and c.customer_phone == placed.customer_phone
        and c.created_at >= earliest
    ]
    taken = set(
        PlacedCall.objects.filter(listed_call_id__in=[_vox_id(c) for c in fitting])
        .exclude(idempotency_key=placed.idempotency_key)
        .values_list("listed_call_id", flat=True)
    )
    return next((c for c in fitting if _vox_id(c) not in taken), None)


def placement_link(placed: PlacedCall, call: ListedCall) -> None:
    """Record that `placed` (and every attempt of its key) became `call`, and the copy of the
    mirrored call when the mirror has it (else `placements_follow` writes it once it does).

    The copy is read from the mirror's row under its lock, whichever copy of the call the caller
    holds: a writer moving the call's status meanwhile waits for this link to commit, and its
    follow then finds the link. Without the lock, a link read before the writer's commit and
    committed after its follow kept the old status until the next full sync."""
    listed_call_id = _vox_id(call)
    with transaction.atomic():
        mirrored = Call.objects.select_for_update().filter(vox_id=listed_call_id).first()
        copy = _copy_of(mirrored)
        attempts = PlacedCall.objects.filter(idempotency_key=placed.idempotency_key)
        attempts.update(listed_call_id=listed_call_id, **copy)
    placed.listed_call_id = listed_call_id
    for field, value in copy.items():
        setattr(placed, field, value)


def _copy_of(call: Call | None) -> dict:
    """A placed call's copy (MIRRORED_COPY) of this mirrored call; None: not mirrored yet."""
    if call is None:
        return dict(NOT_MIRRORED)
    return {field: getattr(call, call_field) for field, call_field in MIRRORED_COPY.items()}


def _copy_held(placed: PlacedCall) -> dict:
    return {field: getattr(placed, field) for field in MIRRORED_COPY}


def placements_follow(call_ids: Iterable[str]) -> int:
    """The placed calls linked to these calls (by Vox id) take their mirrored row's copy (key,
    created_at, status); return how many placed calls were written.

    The mirror's writers call it in their transaction for the calls they create and for those
    whose createdAt or status they move (a call first known from a webhook, created at the
    event's time, then listed with Vox's own; a call that rang and then completed), so the
    history's placed-call filters, which order and filter by the copy, never lag the mirror. One
    UPDATE, through the placed calls' listed_call_id index: nothing is written unless a placed
    call is linked to one of the calls."""
    call_ids = list(call_ids)
    if not call_ids:
        return 0
    return _follow(PlacedCall.objects.filter(listed_call_id__in=call_ids))


def _follow(placed: QuerySet[PlacedCall]) -> int:
    return placed.update(**_copy_read())


def _copy_read() -> dict:
    """The copy (MIRRORED_COPY) as expressions that read each placed call's listed call in the
    statement that uses them (an UPDATE, an annotation); NOT_MIRRORED's where the mirror lacks it."""
    mirrored = Call.objects.filter(vox_id=OuterRef("listed_call_id")).order_by()  # one row: no sort
    copy = {}
    for field, call_field in MIRRORED_COPY.items():
        found = Subquery(mirrored.values(call_field)[:1])
        missing = NOT_MIRRORED[field]
        copy[field] = found if missing is None else Coalesce(found, Value(missing))
    return copy


# The sweep reads the linked placed calls in pages of this many (a few columns each).
MEND_BATCH = 5_000


def placements_mend() -> int:
    """Every linked placed call whose copy of its mirrored call (key, created_at, status) is
    missing or old takes it again; return how many were written. Run after each full sync
    (calls.sync): the writers keep the copy current as they go, and this catches what they cannot
    see (a link that raced the mirror's insert of a call that then never changes, a link written
    or a status moved by a worker of a version before placements 0007 or 0008, a mirror emptied
    and filled again under new keys)."""
    linked = _with_copy_found(PlacedCall.objects.exclude(listed_call_id="")).order_by("pk")
    written, after = 0, 0
    while batch := list(linked.filter(pk__gt=after)[:MEND_BATCH]):
        written += _follow_stale(batch)
        after = batch[-1]["pk"]
    return written


def _with_copy_found(placed: QuerySet[PlacedCall]) -> QuerySet:
    """These placed calls as rows of their pk, the copy they hold and the copy the mirror gives
    (each field of MIRRORED_COPY, and again prefixed found_)."""
    found = {f"found_{field}": expression for field, expression in _copy_read().items()}
    return placed.annotate(**found).values("pk", *MIRRORED_COPY, *found)


def _follow_stale(rows: list[dict]) -> int:
    """Of these rows (_with_copy_found), the placed calls whose copy is missing or old take it
    again: a write only where one is needed; return how many were written."""
    stale = [row["pk"] for row in rows if any(row[f] != row[f"found_{f}"] for f in MIRRORED_COPY)]
    return _follow(PlacedCall.objects.filter(pk__in=stale)) if stale else 0


def placement_mirrored_call(placed: PlacedCall) -> Call | None:
    """The mirrored call this placement became (linking it when it is newly found), or None. A
    linked placement whose copy of the call (key, created_at, status) is missing or old (a link
    that raced the mirror's write, a worker of an older version) takes it again here."""
    if placed.listed_call_id:
        call = Call.objects.filter(vox_id=placed.listed_call_id).first()
        if call is not None and _copy_held(placed) != _copy_of(call):
            placement_link(placed, call)
        return call
    # The rule's candidates, narrowed by the database: the placement's id, or its phone since then.
    near = Q(vox_id=placed.vox_placement_id)
    if placed.vox_created_at:
        near |= Q(customer_phone=placed.customer_phone, created_at__gte=placed.vox_created_at - ROUNDING)
    call = placement_match(placed, Call.objects.filter(near).order_by("created_at", "id"))
    if call is not None:
        placement_link(placed, call)
    return call


def placements_link(call_ids: Iterable[str] | None = None) -> int:
    """Link recent placed calls to the calls the mirror now has; return how many were linked.

    Runs when the mirror gains or changes calls (`calls_mirrored`, with their ids), so "placed by",
    agent and number filters and the stats know every placed call, not just those whose page
    someone opened. Given `call_ids`, only the placements those calls can be (the rule's
    candidates: the same id, or the same phone) are tried: a campaign keeps hundreds of placements
    unlinked at once, and trying them all for every webhook cost seconds each.
    """
    if call_ids is not None:
        call_ids = list(call_ids)
        # A placement linked by id while its call was being written, in another transaction, may
        # have missed the write (neither saw the other's uncommitted work: a new call has no row
        # to lock yet, a repeat's record is saved with the copy as it was): both are committed
        # now, so the placed calls of these calls whose copy differs from the mirror take it
        # again. Read first: the writer's own follow has written most of them already.
        _follow_stale(list(_with_copy_found(PlacedCall.objects.filter(listed_call_id__in=call_ids))))
    since = timezone.now() - LINK_WINDOW
    unlinked = PlacedCall.objects.filter(
        listed_call_id="", attempted_at__gte=since, outcome__in=ACCEPTED_OUTCOMES
    ).order_by("attempted_at", "id")
    if call_ids is not None:
        phones = set(
            Call.objects.filter(vox_id__in=call_ids)
            .exclude(customer_phone="")
            .values_list("customer_phone", flat=True)
        )
        unlinked = unlinked.filter(Q(vox_placement_id__in=call_ids) | Q(customer_phone__in=phones))
    linked, seen_keys = 0, set()
    for placed in unlinked:
        if placed.idempotency_key in seen_keys:
            continue  # attempts sharing a key are one call, linked together
        seen_keys.add(placed.idempotency_key)
        if placement_mirrored_call(placed) is not None:
            linked += 1
    return linked
