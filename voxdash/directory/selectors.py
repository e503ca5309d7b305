"""Numbers and agents change rarely: cached for everyone for a minute, refreshed on request."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from voxdash.vox import errors, get_client

logger = logging.getLogger(__name__)
DIRECTORY_CACHE_SECONDS = 60


@dataclass
class Listing:
    items: list = field(default_factory=list)
    fetched_at: datetime | None = None
    error: errors.VoxError | None = None


def _cached_listing(name: str, fetch, *, refresh: bool) -> Listing:
    key = f"voxdash:directory:{name}"
    listing = None if refresh else cache.get(key)
    if listing is None:
        try:
            listing = Listing(items=fetch(), fetched_at=timezone.now())
        except errors.VoxError as exc:
            logger.warning("%s unavailable: %s (%s)", name, type(exc).__name__, exc)
            return Listing(error=exc)
        cache.set(key, listing, DIRECTORY_CACHE_SECONDS)
    return listing


def voice_numbers(*, refresh: bool = False) -> Listing:
    return _cached_listing("numbers", lambda: get_client().list_numbers(), refresh=refresh)


def agents(*, refresh: bool = False) -> Listing:
    return _cached_listing("agents", lambda: get_client().list_agents(), refresh=refresh)
