"""Numbers and agents change rarely: cached for everyone for a minute, refreshed on request, and
read from the local mirror when Vox cannot answer (so the place-a-call pickers keep working)."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from voxdash.lib.caching import cached_or_fetch
from voxdash.vox import errors, get_client, types

from .models import Agent, VoiceNumber

logger = logging.getLogger(__name__)
DIRECTORY_CACHE_SECONDS = 60


@dataclass
class Listing:
    items: list = field(default_factory=list)
    fetched_at: datetime | None = None  # when Vox said so (the last sync's time for the mirror)
    error: errors.VoxError | None = None  # why Vox did not answer, when it did not
    source: str = "api"  # "api" | "mirror"


def _cached_listing(name: str, fetch, mirror_model, api_type, *, refresh: bool) -> Listing:
    try:
        return cached_or_fetch(
            f"voxdash:directory:{name}",
            DIRECTORY_CACHE_SECONDS,
            lambda: Listing(items=fetch(), fetched_at=timezone.now()),
            refresh=refresh,
        )
    except errors.VoxError as exc:
        logger.warning("%s unavailable: %s (%s)", name, type(exc).__name__, exc)
        return _mirrored_listing(mirror_model, api_type, exc)


def _mirrored_listing(model, api_type, error: errors.VoxError) -> Listing:
    """The mirror's rows as the API's own types (rebuilt from the stored payload), so pages and
    forms cannot tell the difference except by `source`."""
    rows = list(model.objects.filter(vanished_at__isnull=True))
    items = []
    for row in rows:
        try:
            items.append(api_type.from_api(row.raw))
        except errors.VoxBadResponse:
            continue  # a row stored from an odd payload: better missing than crashing the page
    if not items:
        return Listing(error=error)
    return Listing(items=items, fetched_at=max(r.last_seen_at for r in rows), error=error, source="mirror")


def voice_numbers(*, refresh: bool = False) -> Listing:
    return _cached_listing(
        "numbers", lambda: get_client().list_numbers(), VoiceNumber, types.VoiceNumber, refresh=refresh
    )


def agents(*, refresh: bool = False) -> Listing:
    return _cached_listing("agents", lambda: get_client().list_agents(), Agent, types.Agent, refresh=refresh)
