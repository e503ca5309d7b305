"""Mirror the business's voice numbers and agents (services). Both lists are small and unpaginated:
each run reads both in full, upserts them, and marks the ones Vox no longer lists as vanished."""

from __future__ import annotations

import logging

from django.db import models, transaction
from django.utils import timezone

from voxdash.calls.sync import CREATED, UNCHANGED, UPDATED, SyncSummary, sync_run
from voxdash.vox import VoxClient, get_client, types
from voxdash.vox.budget import BACKGROUND

from .models import Agent, VoiceNumber

logger = logging.getLogger(__name__)


def _number_values(number: types.VoiceNumber) -> dict:
    return {
        "phone_number": number.phone_number,
        "country": number.country or "",
        "voice_capable": number.voice_capable,
        "sms_capable": number.sms_capable,
        "status": number.status or "",
        "provider": number.provider or "",
        "created_at": number.created_at,
        "raw": dict(number.raw),
        "vanished_at": None,
    }


def _agent_values(agent: types.Agent) -> dict:
    return {
        "name": agent.name,
        "language": agent.language or "",
        "voice_provider": agent.voice_provider or "",
        "voice_id": agent.voice_id or "",
        "persona": agent.persona or "",
        "is_default": agent.is_default,
        "status": agent.status or "",
        "created_at": agent.created_at,
        "raw": dict(agent.raw),
        "vanished_at": None,
    }


def _mirror(model: type[models.Model], rows: dict[str, dict]) -> list[str]:
    """Upsert `rows` (values by Vox id) into `model`; mark the rest vanished. Outcomes per row."""
    now = timezone.now()
    fields = list(next(iter(rows.values())).keys()) if rows else []
    outcomes = []
    with transaction.atomic():
        stored = {
            row["vox_id"]: row
            for row in model.objects.select_for_update().filter(vox_id__in=rows).values("vox_id", *fields)
        }
        changed = []
        for vox_id, values in rows.items():
            old = stored.get(vox_id)
            if old is not None and all(old[name] == values[name] for name in fields):
                outcomes.append(UNCHANGED)
                continue
            outcomes.append(CREATED if old is None else UPDATED)
            changed.append(model(vox_id=vox_id, **values))
        if changed:
            model.objects.bulk_create(
                changed,
                update_conflicts=True,
                unique_fields=["vox_id"],
                update_fields=[*fields, "last_seen_at"],
            )
        # Kept, not deleted: placed calls and the history still name them. Vanishing is news
        # (an updated row) the first time only.
        gone = model.objects.filter(vanished_at__isnull=True).exclude(vox_id__in=rows).update(vanished_at=now)
        outcomes.extend([UPDATED] * gone)
    return outcomes


def directory_sync(*, client: VoxClient | None = None) -> SyncSummary:
    """Bring numbers and agents up to date. Raises SyncAlreadyRunning or a VoxError."""
    client = client or get_client().using(BACKGROUND)
    summary = SyncSummary(full=True)
    with sync_run("directory", summary):
        # Both reads before any write: a failure leaves the mirror as it was, never half-marked.
        numbers = client.list_numbers()
        summary.requests += 1
        agents = client.list_agents()
        summary.requests += 1
        summary.add(_mirror(VoiceNumber, {n.id: _number_values(n) for n in numbers}))
        summary.add(_mirror(Agent, {a.id: _agent_values(a) for a in agents}))
        summary.pages = summary.total_pages = 2
    logger.info("directory sync done: %s", summary)
    return summary
