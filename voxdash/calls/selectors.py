"""Reads of one call, for its detail page: the mirror's row, its webhook events, its placement.
Pages of history are `history`'s; the mirror's query is `mirror_query`'s."""

from django.db.models import Q

from voxdash.placements.models import ACCEPTED_OUTCOMES, PlacedCall
from voxdash.webhooks.models import WebhookEvent

from . import models


def call_detail(vox_id: str) -> models.Call | None:
    return models.Call.objects.filter(vox_id=vox_id).first()


def call_events(vox_id: str):
    """The webhook events about a call, in the order Vox says they happened."""
    return WebhookEvent.objects.filter(call_vox_id=vox_id).order_by("created", "received_at", "id")


def placed_call_for(call: models.Call):
    """The placement through voxdash that became this call (its first accepted attempt), if any."""
    return (
        PlacedCall.objects.filter(Q(listed_call_id=call.vox_id) | Q(vox_placement_id=call.vox_id))
        .filter(outcome__in=ACCEPTED_OUTCOMES)
        .order_by("attempted_at", "id")
        .first()
    )


def placed_calls_for(vox_ids: list[str]) -> dict[str, PlacedCall]:
    """`placed_call_for` for a page of calls at once: call id -> its placement through voxdash."""
    wanted = set(vox_ids)
    placed = (
        PlacedCall.objects.filter(Q(listed_call_id__in=wanted) | Q(vox_placement_id__in=wanted))
        .filter(outcome__in=ACCEPTED_OUTCOMES)
        .order_by("attempted_at", "id")
    )
    found: dict[str, PlacedCall] = {}
    for attempt in placed:
        for vox_id in (attempt.listed_call_id, attempt.vox_placement_id):
            if vox_id in wanted:
                found.setdefault(vox_id, attempt)  # the first accepted attempt, as placed_call_for
    return found
