"""Events: written with a delivery for each active subscription that wants the type, in the
transaction of the change that caused them (so a change that rolled back tells nobody, and one that
happened is told at least once: a lost queue message is picked up by beat's run)."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

from .models import Event, EventDelivery, Subscription

# Sent on commit with the deliveries made (voxdash.subscriptions.apps: the queue sends them).
deliveries_created = Signal()


def event_emit(*, type: str, data: dict) -> Event | None:
    """Tell every active subscription that wants `type`; None when none does (nothing is kept)."""
    wanting = [s for s in Subscription.objects.filter(active=True) if type in s.event_types]
    if not wanting:
        return None
    event = Event.objects.create(type=type, data=data)
    EventDelivery.objects.bulk_create([EventDelivery(event=event, subscription=s) for s in wanting])
    transaction.on_commit(lambda: deliveries_created.send(sender=Event, event=event))
    return event
