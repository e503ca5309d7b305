"""The mirror's calls for a `CallFilters`, and a page of them shaped like the API's answer."""

import math
from datetime import datetime

from django.db.models import QuerySet

from voxdash.lib.caching import cache_key, cached_or_fetch
from voxdash.lib.paging import capped_count
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
# The count is the costly part of a mirror page (counting a million rows takes 50–130 ms on
# PostgreSQL; the page's rows 1–2 ms): a page counts at most this many matches, plus one to know
# whether there are more, and says "10,000+" when there are (PageMeta.total_is_lower_bound). Any
# count up to the cap is exact, as before. `mirror_exact_count` gives the exact figure on demand.
MIRROR_COUNT_CAP = 10_000
# A text search counts no further than this. A match is known only by testing the text on the
# call's row (the trigram index, where PostgreSQL uses it, nominates every call holding the text's
# trigrams: 41,667 for a common surname in a million, all gathered before any is tested), so a
# count costs about a table page and a few dozen rows tested per match: to 10,001 matches of a
# common name some 7,000 pages (40+ ms at a million calls), to 201 about 130 (2-6 ms). A page
# shows "200+" then, and the exact figure follows (mirror_exact_count), as past MIRROR_COUNT_CAP.
# Under the cap nothing is lost: the read that counts the matches lists them for the page.
MIRROR_SEARCH_COUNT_CAP = 200
# While the API is down, every page view of the same filters shares one (capped) count for this
# long. The total may lag the rows by the calls of those seconds, which the "as of" banner
# already owns up to.
MIRROR_COUNT_SECONDS = 30
# The exact count of a large match is asked for separately (it may take a tenth of a second at a
# million calls): shared for longer, as a figure in the tens of thousands that lags by a few
# minutes of calls says no less than one that lags by seconds.
MIRROR_EXACT_COUNT_SECONDS = 300


def mirror_calls(filters: CallFilters) -> QuerySet:
    """The mirror's calls matching the filters, newest first (a queryset of `Call` rows)."""
    # The id breaks ties so paging is stable (the index call_newest covers this order).
    return models.Call.objects.filter(filters.q()).order_by("-created_at", "-id")


def mirror_count_cap(filters: CallFilters) -> int:
    """How far a page of these filters counts before it says "N+"."""
    if filters.search:
        return min(MIRROR_COUNT_CAP, MIRROR_SEARCH_COUNT_CAP)
    return MIRROR_COUNT_CAP


def mirror_page(*, filters: CallFilters, page: int, limit: int) -> tuple[list[Call], PageMeta]:
    """One page of the mirror, with the API's page/limit semantics and a PageMeta like the API's;
    past the cap (mirror_count_cap) matches the total is the cap, said to be a lower bound."""
    calls = mirror_calls(filters)
    cap = mirror_count_cap(filters)
    offset = (page - 1) * limit
    newest_ids = None  # every match's id, newest first, once listed (only ever at most cap + 1)
    if filters.only_placed_calls:
        # The placed calls alone say which calls match and in which order (each keeps its
        # mirrored call's key and created_at): a read of that small table is the count and the
        # list, and the mirror is read only for the page's rows.
        newest_ids = _placed_newest_ids(filters, start=0, stop=cap + 1)
        counted = len(newest_ids)
    elif _few_placed_calls(filters, cap=cap):
        # No more matches than those placed calls: listing their ids is the count as well (one
        # look-up of each placed call's mirrored call, where a count and then a page would be two).
        newest_ids = _newest_ids(calls, cap=cap)
        counted = len(newest_ids)
    else:
        listed = []

        def count() -> int:
            if filters.search:
                # Counting a text match reads each candidate's row (the trigram index only
                # nominates): the same read lists them, so a page under the cap needs no second.
                listed.append(_matching_ids_newest_first(calls, cap=cap))
                return len(listed[-1])
            return capped_count(calls, cap=cap)

        # The cap is in the key: a count kept under one cap is no answer under another.
        key = cache_key(f"voxdash:calls:count:{cap}:", dict(filters.hidden_inputs()))
        counted = cached_or_fetch(key, MIRROR_COUNT_SECONDS, count)
        if listed and counted <= cap:
            newest_ids = listed[-1]
    if counted <= cap:
        total = counted
        rows = []
        if offset < total:
            rows = _rows_of_few(filters, calls, newest_ids, offset=offset, limit=limit, cap=cap)
        total_pages = math.ceil(total / limit)
        meta = PageMeta(
            total=total, page=page, per_page=limit, total_pages=total_pages, has_more=page < total_pages
        )
    else:
        # More than the cap: matches this common are found within a few rows of any point of the
        # newest-first index (or, for placed calls alone, of theirs). Where they end is not known,
        # so one row more than the page says whether another page follows (past the cap, "Next"
        # goes on while it does).
        if filters.only_placed_calls:
            rows = _rows_by_id(_placed_newest_ids(filters, start=offset, stop=offset + limit + 1))
        else:
            rows = list(calls.values(*_ROW_FIELDS)[offset : offset + limit + 1])
        meta = PageMeta(
            total=cap,
            page=page,
            per_page=limit,
            total_pages=math.ceil(cap / limit),
            has_more=len(rows) > limit,
            total_is_lower_bound=True,
        )
        rows = rows[:limit]
    return [_as_api_call(row) for row in rows], meta


def _rows_of_few(
    filters: CallFilters, calls: QuerySet, newest_ids: list[int] | None, *, offset: int, limit: int, cap: int
) -> list[dict]:
    """A page's rows when at most `cap` calls match (newest_ids: their ids, if already listed)."""
    if newest_ids is None and not _matched_off_the_page_order(filters):
        # Direction, status, dates, duration, hour: PostgreSQL applies them while it reads an
        # index in the page's order, or judges well how many match: the page is the first
        # matches it meets, as past the cap.
        return list(calls.values(*_ROW_FIELDS)[offset : offset + limit])
    if newest_ids is None:
        newest_ids = _newest_ids(calls, cap=cap)
    return _rows_by_id(newest_ids[offset : offset + limit])


def _newest_ids(calls: QuerySet, *, cap: int) -> list[int]:
    """The ids of the matches, newest first, at most cap + 1 of them: with at most `cap` matches,
    all of them, so any page is a slice of this list.

    For a search or a placed-call filter (_matched_off_the_page_order) that matches few calls,
    asked for one page of them newest first, PostgreSQL may walk the newest-first index past
    every other call until it has found a page (a phone search: 15,000 calls read for 20;
    "placed by", 40,000 look-ups of placed calls; 20–150 ms at a million calls, and more the
    rarer the match), because it misjudges how many match and where. Asked for all of them, it
    finds them through the filter's own index and sorts at most cap + 1 keys: about what
    counting them cost, however thinly they are spread."""
    return list(calls.values_list("pk", flat=True)[: cap + 1])


def _matching_ids_newest_first(calls: QuerySet, *, cap: int) -> list[int]:
    """At most cap + 1 matches' ids; all of them, newest first, when there are at most `cap`.

    Read in no order, so that the scan may stop at cap + 1 matches wherever it meets them (as a
    capped count does), and sorted here: a search's matches are at most the cap."""
    found = list(calls.order_by().values_list("created_at", "pk")[: cap + 1])
    found.sort(reverse=True)  # the page's order: created_at, then id, both descending
    return [pk for _, pk in found]


def _placed_newest_ids(filters: CallFilters, *, start: int, stop: int) -> list[int]:
    """The ids of the mirrored calls that the filters' placed calls became, newest first, from
    `start` to `stop` (only_placed_calls filters). Attempts sharing a key share their call: listed once."""
    placed = filters.placed_calls_by_copy()
    pairs = (
        placed.order_by("-mirrored_call_created_at", "-mirrored_call_id")
        .values_list("mirrored_call_created_at", "mirrored_call_id")
        .distinct()[start:stop]
    )
    return list(dict.fromkeys(key for _, key in pairs))


def _matched_off_the_page_order(filters: CallFilters) -> bool:
    """True for the filters no index in the page's order can apply, and whose matches PostgreSQL
    cannot estimate: a text search (trigram look-ups) and the placed-call filters (a look-up in
    another table). Up to the cap, their pages come from the matches' ids (_newest_ids)."""
    return bool(filters.search) or filters.placed_calls() is not None


def _rows_by_id(ids: list[int]) -> list[dict]:
    # In the newest-first order of the list the ids were sliced from (Call.Meta.ordering).
    return list(models.Call.objects.filter(pk__in=ids).order_by("-created_at", "-id").values(*_ROW_FIELDS))


def _few_placed_calls(filters: CallFilters, *, cap: int) -> bool:
    """True when the filters select through voxdash's placed calls (agent, number, placed by) and
    those are at most `cap`: then no more calls than that can match."""
    placed = filters.placed_calls()
    # Counting placed calls reads the placements table alone, a small one, with no look-up in the
    # mirror; at most cap + 1 of them, in no order (their default order would sort them first).
    return placed is not None and placed.order_by()[: cap + 1].count() <= cap


def mirror_exact_count(*, filters: CallFilters) -> int:
    """The exact number of the mirror's calls matching the filters, however many: the figure a
    capped page's "10,000+" stands for, asked for apart from the page (it may take 50–130 ms at
    a million calls) and shared for MIRROR_EXACT_COUNT_SECONDS."""
    key = cache_key("voxdash:calls:exact-count:", dict(filters.hidden_inputs()))
    return cached_or_fetch(key, MIRROR_EXACT_COUNT_SECONDS, mirror_calls(filters).order_by().count)


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
