"""Reads of call history. Views ask here; this module decides where the answer comes from."""

import hashlib
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Q
from django.utils import timezone

from voxdash.vox import errors, get_client
from voxdash.vox.types import Call, PageMeta

from . import models

logger = logging.getLogger(__name__)

# The columns a history row shows: the mirror never loads `raw` (a JSON blob) for a list.
_ROW_FIELDS = (
    "vox_id", "business_id", "direction", "status", "customer_phone", "customer_name",
    "duration_seconds", "started_at", "ended_at", "created_at",
)


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
        return bool(self.meta and not self.calls and self.meta.total and self.meta.page > self.meta.total_pages)


def _cache_key(params: dict) -> str:
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] is not None)
    return "voxdash:calls:list:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def call_history(*, direction=None, status=None, search=None, page=1, limit=20, **mirror_filters) -> CallHistory:
    """A page of history: the API's, unless a filter only the mirror knows is used or the API fails.

    `mirror_filters` are the keyword arguments of `mirror_calls` beyond the API's (dates, agent,
    number, duration, placed by, hour); None means unset.
    """
    params = dict(direction=direction, status=status, search=search, page=page, limit=limit)
    if any(value is not None for value in mirror_filters.values()):
        # The API would ignore these filters and answer with the wrong calls; only the copy can.
        return mirror_call_history(**params, **mirror_filters, filtered_locally=True)
    key = _cache_key(params)
    # A room full of staff opening the same page must not spend the key's 120 requests a minute:
    # identical list requests share one answer for a few seconds, across users and processes.
    page_of_calls = cache.get(key) if settings.VOX_LIST_CACHE_SECONDS else None
    if page_of_calls is None:
        try:
            page_of_calls = get_client().list_calls(**params)
        except errors.VoxError as exc:
            logger.warning("call history unavailable: %s (%s)", type(exc).__name__, exc)
            # Any failure, even a key problem: a page of yesterday's calls with a banner saying so
            # beats an error page. With an empty mirror there is nothing better than the error.
            if models.Call.objects.exists():
                return mirror_call_history(**params, error=exc)
            return CallHistory(source="none", error=exc)
        if settings.VOX_LIST_CACHE_SECONDS:
            cache.set(key, page_of_calls, settings.VOX_LIST_CACHE_SECONDS)
    return CallHistory(calls=list(page_of_calls.calls), meta=page_of_calls.meta)


def local_day_start(day: date) -> datetime:
    """Midnight at the start of `day` in TIME_ZONE, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def mirror_calls(
    *, direction=None, status=None, search=None, created_after: date | None = None,
    created_before: date | None = None, agent: str | None = None, from_number: str | None = None,
    duration_min: int | None = None, duration_max: int | None = None, placed_by: str | None = None,
    hour: int | None = None,
):
    """The mirror's calls matching the filters, newest first (a queryset of history rows).

    Dates are whole days in TIME_ZONE, both ends included. Agent, from-number and "placed by" are
    known only for calls placed through voxdash: they select through PlacedCall.listed_call_id.
    """
    calls = models.Call.objects.all()
    if direction:
        calls = calls.filter(direction=direction)
    if status:
        calls = calls.filter(status=status)
    if search:
        calls = calls.filter(_search_q(search))
    if created_after:
        calls = calls.filter(created_at__gte=local_day_start(created_after))
    if created_before:
        calls = calls.filter(created_at__lt=local_day_start(created_before + timedelta(days=1)))
    if duration_min is not None:
        calls = calls.filter(duration_seconds__gte=duration_min)
    if duration_max is not None:
        calls = calls.filter(duration_seconds__lte=duration_max)
    if hour is not None:
        calls = calls.filter(created_at__hour=hour)  # in TIME_ZONE, as USE_TZ makes lookups
    placed = placed_calls_filter(agent=agent, from_number=from_number, placed_by=placed_by)
    if placed is not None:
        calls = calls.filter(vox_id__in=placed)
    # The id breaks ties so paging is stable (the index call_newest covers this order).
    return calls.order_by("-created_at", "-id")


def placed_calls_filter(*, agent=None, from_number=None, placed_by=None):
    """The listed-call ids of voxdash's placed calls with this agent/number/user; None: no filter."""
    if not (agent or from_number or placed_by):
        return None
    from voxdash.placements.models import PlacedCall

    placed = PlacedCall.objects.exclude(listed_call_id="")
    if agent:
        placed = placed.filter(payload__ai_agent_id=agent)
    if from_number:
        placed = placed.filter(payload__business_voice_number_id=from_number)
    if placed_by:
        placed = placed.filter(username=placed_by)
    return placed.values("listed_call_id")


def _search_q(search: str) -> Q:
    """Name or phone contains the text, as the API does; "0801 234" also finds "+234801234…"."""
    q = Q(customer_name__icontains=search) | Q(customer_phone__icontains=search)
    digits = re.sub(r"[\s\-()]", "", search)
    if digits.isdigit() and digits != search:
        q |= Q(customer_phone__contains=digits)
    if digits.isdigit() and digits.startswith("0") and len(digits) > 1:
        q |= Q(customer_phone__contains=digits[1:])  # the national trunk prefix is not in E.164
    return q


def mirror_call_history(
    *, direction=None, status=None, search=None, page=1, limit=20, error: errors.VoxError | None = None,
    filtered_locally: bool = False, **mirror_filters,
) -> CallHistory:
    """One page of the mirror, with the API's page/limit semantics and a PageMeta like the API's."""
    filters = dict(direction=direction, status=status, search=search, **mirror_filters)
    calls = mirror_calls(**filters)
    total = _mirror_count(calls, **filters)
    offset = (page - 1) * limit
    rows = calls.values(*_ROW_FIELDS)[offset : offset + limit] if offset < total else []
    total_pages = math.ceil(total / limit)
    meta = PageMeta(
        total=total, page=page, per_page=limit, total_pages=total_pages, has_more=page < total_pages
    )
    return CallHistory(
        calls=[_as_api_call(row) for row in rows],
        meta=meta,
        source="mirror",
        error=error,
        mirror_as_of=mirror_synced_at(),
        filtered_locally=filtered_locally,
    )


# Counting a million rows costs ~50 ms on PostgreSQL, more than the page itself: while the API is
# down, every page view of the same filters shares one count for this long. The total may lag the
# rows by the calls of those seconds, which the "as of" banner already owns up to.
MIRROR_COUNT_SECONDS = 30


def _mirror_count(calls, **filters) -> int:
    key = _cache_key({"mirror_count": 1, **filters})
    total = cache.get(key)
    if total is None:
        total = calls.count()
        cache.set(key, total, MIRROR_COUNT_SECONDS)
    return total


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


def call_detail(vox_id: str) -> models.Call | None:
    return models.Call.objects.filter(vox_id=vox_id).first()


def call_events(vox_id: str):
    """The webhook events about a call, in the order Vox says they happened."""
    from voxdash.webhooks.models import WebhookEvent

    return WebhookEvent.objects.filter(call_vox_id=vox_id).order_by("created", "received_at", "id")


def placed_call_for(call: models.Call):
    """The placement through voxdash that became this call (its first accepted attempt), if any."""
    from voxdash.placements.models import PlacedCall

    return (
        PlacedCall.objects.filter(Q(listed_call_id=call.vox_id) | Q(vox_placement_id=call.vox_id))
        .filter(outcome__in=[PlacedCall.Outcome.QUEUED, PlacedCall.Outcome.REPLAYED])
        .order_by("attempted_at", "id")
        .first()
    )


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
