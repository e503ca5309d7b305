"""Reads of call history. Views ask here; this module decides where the answer comes from."""

import hashlib
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator

from voxdash.vox import errors, get_client
from voxdash.vox.types import Call, PageMeta

logger = logging.getLogger(__name__)



@dataclass
class CallHistory:
    calls: list[Call] = field(default_factory=list)
    meta: PageMeta | None = None
    source: str = "api"  # "api" | "none" (nothing could be shown)
    error: errors.VoxError | None = None

    @property
    def past_the_end(self) -> bool:
        return bool(self.meta and not self.calls and self.meta.total and self.meta.page > self.meta.total_pages)


def _cache_key(params: dict) -> str:
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] is not None)
    return "voxdash:calls:list:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def call_history(*, direction=None, status=None, search=None, page=1, limit=20) -> CallHistory:
    params = dict(direction=direction, status=status, search=search, page=page, limit=limit)
    key = _cache_key(params)
    # A room full of staff opening the same page must not spend the key's 120 requests a minute:
    # identical list requests share one answer for a few seconds, across users and processes.
    page_of_calls = cache.get(key) if settings.VOX_LIST_CACHE_SECONDS else None
    if page_of_calls is None:
        try:
            page_of_calls = get_client().list_calls(**params)
        except errors.VoxError as exc:
            logger.warning("call history unavailable: %s (%s)", type(exc).__name__, exc)
            return CallHistory(source="none", error=exc)
        if settings.VOX_LIST_CACHE_SECONDS:
            cache.set(key, page_of_calls, settings.VOX_LIST_CACHE_SECONDS)
    return CallHistory(calls=list(page_of_calls.calls), meta=page_of_calls.meta)


def page_links(meta: PageMeta | None) -> list[int | None]:
    """The admin's elided page range ("1 2 … 7 8 9 … 15 16"), from the API's meta alone."""
    if meta is None or meta.total_pages <= 1:
        return []
    paginator = Paginator(range(meta.total), meta.per_page)
    current = min(max(meta.page, 1), paginator.num_pages)
    # None marks a gap ("…"), so templates need not compare against a translated string.
    return [
        None if number == paginator.ELLIPSIS else number
        for number in paginator.get_elided_page_range(current, on_each_side=2, on_ends=2)
    ]
