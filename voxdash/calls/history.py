"""A page of call history: the API's, or the mirror's when only the mirror can answer (a filter
the API cannot apply) or when the API fails. Views ask here; this module decides where the
answer comes from. The mirror's query and paging are `mirror_query`'s.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.paginator import Paginator

from voxdash.lib.caching import cache_key, cached_or_fetch
from voxdash.lib.paging import Pager, pager
from voxdash.vox import errors, get_client
from voxdash.vox.types import Call, PageMeta

from . import models
from .filters import CallFilters
from .mirror_query import mirror_page, mirror_synced_at

logger = logging.getLogger(__name__)


@dataclass
class CallHistory:
    calls: list[Call] = field(default_factory=list)
    meta: PageMeta | None = None
    # "api" | "mirror" (the API failed; the local copy answered) | "none" (nothing could be shown)
    source: str = "api"
    error: errors.VoxError | None = None
    mirror_as_of: datetime | None = None  # with source "mirror": when the copy was last synced
    # With source "mirror": True when a filter only the mirror can apply chose it (not an error).
    filtered_locally: bool = False

    @property
    def fallback_reason(self) -> str:
        """The error as the end of "… because <reason>": "Vox took too long to answer"."""
        if self.error is None:
            return ""
        reason = self.error.user_message.rstrip(".")
        return reason if reason.startswith(("Vox", "voxdash")) else reason[:1].lower() + reason[1:]

    @property
    def past_the_end(self) -> bool:
        return bool(
            self.meta and not self.calls and self.meta.total and self.meta.page > self.meta.total_pages
        )


def call_history(*, filters: CallFilters, page: int = 1, limit: int = 20) -> CallHistory:
    """A page of history: the API's, unless a filter only the mirror knows is used or the API fails."""
    if not filters.api_can_answer:
        # The API would ignore these filters and answer with the wrong calls; only the copy can.
        return mirror_call_history(filters=filters, page=page, limit=limit, filtered_locally=True)
    params = {**filters.api_params(), "page": page, "limit": limit}
    try:
        # A room full of staff opening the same page must not spend the key's 120 requests a
        # minute: identical list requests share one answer for a few seconds, across users and
        # processes.
        page_of_calls = cached_or_fetch(
            cache_key("voxdash:calls:list:", params),
            settings.VOX_LIST_CACHE_SECONDS,
            lambda: get_client().list_calls(**params),
        )
    except errors.VoxError as exc:
        logger.warning("call history unavailable: %s (%s)", type(exc).__name__, exc)
        # Any failure, even a key problem: a page of yesterday's calls with a banner saying so
        # beats an error page. With an empty mirror there is nothing better than the error.
        if models.Call.objects.exists():
            return mirror_call_history(filters=filters, page=page, limit=limit, error=exc)
        return CallHistory(source="none", error=exc)
    return CallHistory(calls=list(page_of_calls.calls), meta=page_of_calls.meta)


def mirror_call_history(
    *,
    filters: CallFilters,
    page: int = 1,
    limit: int = 20,
    error: errors.VoxError | None = None,
    filtered_locally: bool = False,
) -> CallHistory:
    """The mirror's page, said to come from the mirror (and why, and as of when)."""
    calls, meta = mirror_page(filters=filters, page=page, limit=limit)
    return CallHistory(
        calls=calls,
        meta=meta,
        source="mirror",
        error=error,
        mirror_as_of=mirror_synced_at(),
        filtered_locally=filtered_locally,
    )


def history_pager(history: CallHistory, *, sizes: Sequence[int], size: int) -> Pager | None:
    """The shared pager over the API's meta (or the mirror's, shaped alike); None: nothing listed."""
    if history.meta is None:
        return None
    paginator = Paginator(range(history.meta.total), history.meta.per_page)
    return pager(paginator, history.meta.page, sizes=sizes, size=size)
