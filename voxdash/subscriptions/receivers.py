"""What the subscriptions listen to, each told in the transaction that made the change where one
exists: a campaign's recorded events and alerts (Django's post_save, inside the writer's
transaction), and the mirror's announcement that calls changed (`calls_mirrored`, sent after its
commit: the calls are read back and compared with what was last told, `CallSeen`).

A process that dies between the mirror's commit and that announcement would leave a change
untold; `call_changes_sweep` (beat, every minute) tells what the mirror holds and `CallSeen` does
not yet, so every change is told at least once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from voxdash.alerts.models import Alert
from voxdash.calls.models import Call
from voxdash.campaigns.models import CampaignEvent
from voxdash.mirror.signals import calls_mirrored
from voxdash.placements.models import PlacedCall

from .emit import event_emit
from .models import (
    ALERT_OPENED,
    ALERT_RESOLVED,
    CALL_RECORDING_READY,
    CALL_STATUS_CHANGED,
    CAMPAIGN_PROGRESS,
    CallSeen,
    Subscription,
)

logger = logging.getLogger("voxdash.subscriptions")

# A call first seen older than this is history a sync filled in, not news: it is not told.
NEWS_WITHIN = timedelta(days=1)
# The sweep leaves alone what the mirror wrote this recently: its own announcement is on its way
# (it follows the commit within milliseconds), and telling it twice would give the receiver one
# change under two event ids.
SWEEP_GRACE = timedelta(seconds=30)
# What the sweep looks back over: a process lost mid-announcement is noticed within minutes.
SWEEP_WITHIN = timedelta(hours=1)
SWEEP_BATCH = 500
# CallSeen's status before the call's first telling (the row exists to be locked).
NOT_TOLD = ""


def _wanted(*types: str) -> bool:
    return any(t in s.event_types for s in Subscription.objects.filter(active=True) for t in types)


@receiver(calls_mirrored, dispatch_uid="subscriptions-calls")
def _calls_mirrored(sender, created=(), updated=(), **kwargs):
    ids = [*created, *updated]
    if not ids or not _wanted(CALL_STATUS_CHANGED, CALL_RECORDING_READY):
        return
    try:
        call_changes_emit(vox_ids=ids)
    except DatabaseError:
        # The mirror's write is committed and its caller (a webhook, a sync page) must not fail
        # for this: the sweep tells these changes within a minute or two.
        logger.exception("calls %s… changed but were not told to subscribers yet", ids[:3])


def call_changes_sweep(*, now: datetime | None = None) -> int:
    """Tell the changes of recently mirrored calls that no announcement told; how many events."""
    if not _wanted(CALL_STATUS_CHANGED, CALL_RECORDING_READY):
        return 0
    now = now or timezone.now()
    told = CallSeen.objects.filter(vox_id=OuterRef("vox_id"))
    untold = (
        # created_at first: its index narrows the look to a day's calls, however big the mirror.
        Call.objects.filter(
            created_at__gte=now - NEWS_WITHIN,
            last_seen_at__gte=now - SWEEP_WITHIN,
            last_seen_at__lt=now - SWEEP_GRACE,
        )
        .annotate(
            told_status=Subquery(told.values("status")[:1]),
            told_recording=Subquery(told.values("recording")[:1]),
        )
        .filter(
            Q(told_status__isnull=True)
            | ~Q(told_status=F("status"))
            | (Q(told_recording=False) & ~Q(recording_url=""))
        )
    )
    ids = list(untold.values_list("vox_id", flat=True)[:SWEEP_BATCH])
    return call_changes_emit(vox_ids=ids) if ids else 0


def call_changes_emit(*, vox_ids: list[str]) -> int:
    """Tell each change of these calls' status or recording once; how many events were made."""
    made = 0
    recent = timezone.now() - NEWS_WITHIN
    with transaction.atomic():
        news = Call.objects.filter(vox_id__in=vox_ids, created_at__gte=recent).values_list(
            "vox_id", flat=True
        )
        # A row for each recent call never told, made before the lock: two writers telling one
        # new call at once (its webhook and a sync page) then wait on the same row, and the second
        # finds it told, instead of both telling it under two event ids.
        CallSeen.objects.bulk_create(
            [CallSeen(vox_id=vox_id, status=NOT_TOLD) for vox_id in news], ignore_conflicts=True
        )
        # In one order, so two writers' locks cannot deadlock; the calls are read after the lock,
        # so what is compared is the newest of both writers' (PostgreSQL reads what committed).
        seen = {
            s.vox_id: s
            for s in CallSeen.objects.select_for_update().filter(vox_id__in=vox_ids).order_by("vox_id")
        }
        calls = list(Call.objects.filter(vox_id__in=list(seen)))
        placed = dict(
            PlacedCall.objects.filter(
                listed_call_id__in=[c.vox_id for c in calls], outcome=PlacedCall.Outcome.QUEUED
            ).values_list("listed_call_id", "idempotency_key")
        )
        for call in calls:
            before = seen[call.vox_id]
            previous = before.status or None  # NOT_TOLD: the first time
            data = {
                "call_id": call.vox_id,
                "status": call.status,
                "previous_status": previous,
                "direction": call.direction,
                "customer_phone": call.customer_phone,
                "customer_name": call.customer_name or None,
                "duration_seconds": call.duration_seconds,
                "ended_at": call.ended_at.isoformat() if call.ended_at else None,
                "failure_reason": call.failure_reason or None,
                "placed_call_key": str(placed[call.vox_id]) if call.vox_id in placed else None,
            }
            if previous != call.status:
                made += bool(event_emit(type=CALL_STATUS_CHANGED, data=data))
            if call.recording_url and not before.recording:
                made += bool(
                    event_emit(type=CALL_RECORDING_READY, data={**data, "recording_url": call.recording_url})
                )
            if (before.status, before.recording) != (call.status, bool(call.recording_url)):
                before.status, before.recording = call.status, bool(call.recording_url)
                before.save(update_fields=["status", "recording"])
    return made


@receiver(post_save, sender=CampaignEvent, dispatch_uid="subscriptions-campaigns")
def _campaign_event(sender, instance: CampaignEvent, created: bool, **kwargs):
    if not created or instance.action == CampaignEvent.Action.CREATED:
        return
    campaign = instance.campaign
    event_emit(
        type=CAMPAIGN_PROGRESS,
        data={
            "campaign_id": campaign.pk,
            "name": campaign.name,
            "action": instance.action,
            "state": campaign.state,
            "by": instance.username or "voxdash",
            "note": instance.note or None,
        },
    )


@receiver(post_save, sender=Alert, dispatch_uid="subscriptions-alerts")
def _alert_saved(sender, instance: Alert, created: bool, update_fields=None, **kwargs):
    data = {
        "alert_id": instance.pk,
        "rule": instance.rule.name,
        "subject": instance.subject_label or None,
        "summary": instance.summary,
        "opened_at": instance.opened_at.isoformat(),
        "link": instance.link or None,
    }
    if created:
        event_emit(type=ALERT_OPENED, data=data)
    elif update_fields and "resolved_at" in update_fields and instance.resolved_at is not None:
        event_emit(type=ALERT_RESOLVED, data={**data, "resolved_at": instance.resolved_at.isoformat()})
