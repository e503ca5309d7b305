"""The mirror's calls for a `CallFilters`, and a page of them shaped like the API's answer."""

import math
from datetime import datetime

from django.db.models import QuerySet

from voxdash.lib.caching import cache_key, cached_or_fetch
from voxdash.vox.types import Call, PageMeta

from . import models
from .filters import CallFilters

# The columns a history row shows: the mirror never loads `raw` (a JSON blob) for a list.
_ROW_FIELDS = (
    "vox_id",
    "business_id",
    "direction",
    "status",
    "customer_phone",
    "customer_name",
    "duration_seconds",
    "started_at",
    "ended_at",
    "created_at",
)
# Counting a million rows costs ~50 ms on PostgreSQL, more than the page itself: while the API is
# down, every page view of the same filters shares one count for this long. The total may lag the
# rows by the calls of those seconds, which the "as of" banner already owns up to.
MIRROR_COUNT_SECONDS = 30


def mirror_calls(filters: CallFilters) -> QuerySet:
    """The mirror's calls matching the filters, newest first (a queryset of `Call` rows)."""
    # The id breaks ties so paging is stable (the index call_newest covers this order).
    return models.Call.objects.filter(filters.q()).order_by("-created_at", "-id")


def mirror_page(*, filters: CallFilters, page: int, limit: int) -> tuple[list[Call], PageMeta]:
    """One page of the mirror, with the API's page/limit semantics and a PageMeta like the API's."""
    calls = mirror_calls(filters)
    total = cached_or_fetch(
        cache_key("voxdash:calls:count:", dict(filters.hidden_inputs())), MIRROR_COUNT_SECONDS, calls.count
    )
    offset = (page - 1) * limit
    rows = calls.values(*_ROW_FIELDS)[offset : offset + limit] if offset < total else []
    total_pages = math.ceil(total / limit)
    meta = PageMeta(
        total=total, page=page, per_page=limit, total_pages=total_pages, has_more=page < total_pages
    )
    return [_as_api_call(row) for row in rows], meta


def _as_api_call(row: dict) -> Call:
    # The API's own type, so the template renders one kind of row whichever source answered.
    return Call(
        id=row["vox_id"],
        business_id=row["business_id"] or None,
        direction=row["direction"],
        status=row["status"],
        customer_phone=row["customer_phone"],
        customer_name=row["customer_name"] or None,
        duration_seconds=row["duration_seconds"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        created_at=row["created_at"],
        raw={},
    )


def mirror_synced_at() -> datetime | None:
    """When the mirror last heard from the list: the last completed sync, else the last page."""
    state = models.SyncState.objects.filter(name="calls").first()
    if state and (state.last_finished_at or state.last_page_at):
        return state.last_finished_at or state.last_page_at
    # Never synced (rows came from webhooks only): when the newest call last changed is the best
    # we can say cheaply (the newest-first index finds it; a max over last_seen_at would scan).
    return models.Call.objects.order_by("-created_at", "-id").values_list("last_seen_at", flat=True).first()
