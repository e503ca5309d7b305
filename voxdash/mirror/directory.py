"""Writing numbers and agents into the mirror: a full listing of both (`directory_merge_listing`)
and one agent update from a webhook (`agent_merge_event`), with one mapping per kind and the one
truncation rule (`fields.fitted`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from voxdash.directory.models import Agent, VoiceNumber
from voxdash.vox import types

from .fields import fitted
from .sync import CREATED, UNCHANGED, UPDATED


def _number_values(number: types.VoiceNumber) -> dict[str, Any]:
    return fitted(
        VoiceNumber,
        {
            "phone_number": number.phone_number,
            "country": number.country or "",
            "voice_capable": number.voice_capable,
            "sms_capable": number.sms_capable,
            "status": number.status or "",
            "provider": number.provider or "",
            "created_at": number.created_at,
            "raw": dict(number.raw),
        },
    )


def _agent_values(agent: types.Agent) -> dict[str, Any]:
    return fitted(
        Agent,
        {
            "name": agent.name,
            "language": agent.language or "",
            "voice_provider": agent.voice_provider or "",
            "voice_id": agent.voice_id or "",
            "persona": agent.persona or "",
            "is_default": agent.is_default,
            "status": agent.status or "",
            "created_at": agent.created_at,
            "raw": dict(agent.raw),
        },
    )


def _upsert_listed(model: type[models.Model], rows: dict[str, dict]) -> list[str]:
    """Upsert `rows` (values by Vox id) into `model`; mark the rest vanished. Outcomes per row."""
    now = timezone.now()
    rows = {vox_id: {**values, "vanished_at": None} for vox_id, values in rows.items()}
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


def directory_merge_listing(
    *, numbers: Sequence[types.VoiceNumber], agents: Sequence[types.Agent]
) -> list[str]:
    """Mirror Vox's full lists of numbers and agents; the outcome of each row (vanished ones too)."""
    return [
        *_upsert_listed(VoiceNumber, {n.id: _number_values(n) for n in numbers}),
        *_upsert_listed(Agent, {a.id: _agent_values(a) for a in agents}),
    ]


def agent_merge_event(
    *, agent: types.Agent, at: datetime, newer_applied: Callable[[], bool]
) -> tuple[bool, str]:
    """Write one agent update; (written, detail). Call inside a transaction.

    Agents have no version of their own, so the caller says whether an update later than `at` was
    already applied (`newer_applied`); it is asked under the agent's row lock, where a concurrent
    update is visible.
    """
    row, created = Agent.objects.get_or_create(
        vox_id=agent.id, defaults=fitted(Agent, {"name": agent.name, "status": agent.status or ""})
    )
    row = Agent.objects.select_for_update().get(pk=row.pk)
    if not created and newer_applied():
        return False, f"agent {agent.id}: a later update was already applied"
    values = _agent_values(agent)
    values["created_at"] = values["created_at"] or row.created_at  # an update may leave it out
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    if agent.is_default:
        # Vox has one default agent; the newly default one takes the mark from the others.
        Agent.objects.exclude(pk=row.pk).filter(is_default=True).update(is_default=False)
    return True, f"{'created' if created else 'updated'} agent {agent.id}"
