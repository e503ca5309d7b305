"""A page of call history: the API's, or the mirror's when only the mirror can answer (a filter
the API cannot apply) or when the API fails. Views ask here; this module decides where the
answer comes from. The mirror's query and paging are `mirror_query`'s.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypedDict

from django.conf import settings
from django.core.paginator import Paginator
from django.http import QueryDict
from django.utils import timezone
from django.utils.safestring import SafeString

from voxdash.lib.caching import cache_key, cached_or_fetch
from voxdash.lib.formatting import duration_text, moment, phone_display
from voxdash.lib.links import RowLinks
from voxdash.lib.paging import Pager, pager
from voxdash.lib.rows import html_format, html_lines
from voxdash.vox import errors, get_client
from voxdash.vox.statuses import status_badge
from voxdash.vox.types import Call, PageMeta

from . import models
from .filters import CallFilters
from .forms import PanelChoices, panel_choices
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
    calls = list(page_of_calls.calls)
    return CallHistory(calls=calls, meta=_with_total(page_of_calls.meta, rows=len(calls)))


def _with_total(meta: PageMeta, *, rows: int) -> PageMeta:
    """The meta with a total to show: the contract lets a server leave `total` out, and then the
    calls up to this page are what is known (a lower bound while more pages follow, "40+ calls")."""
    if meta.total is not None:
        return meta
    seen = (meta.page - 1) * meta.per_page + rows
    return replace(meta, total=seen, total_pages=meta.page, total_is_lower_bound=meta.has_more)


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


def history_pager(
    history: CallHistory, *, sizes: Sequence[int], size: int, query: QueryDict | None = None
) -> Pager | None:
    """The shared pager over the API's meta (or the mirror's, shaped alike); None: nothing listed.
    A capped count (`total_is_lower_bound`) gets an open-ended pager: no last page, a "Next"."""
    meta = history.meta
    if meta is None:
        return None
    total = meta.total
    if meta.total_is_lower_bound:
        # The cap is not the end: a reader who went past it with "Next" still has a current page.
        total = max(total, meta.page * meta.per_page)
    return pager(
        Paginator(range(total), meta.per_page),
        meta.page,
        sizes=sizes,
        size=size,
        open_ended=meta.total_is_lower_bound,
        has_more=meta.has_more,
        query=query,
    )


class CallRow(TypedDict):
    """One call as the history's table shows it, formatted here once per row (no `{% url %}` or
    `|date` a row); CALL_ROW_HTML writes it. A dict: it fills the format string as it is."""

    url: str  # the call's page
    created_iso: str  # <time datetime="…">
    created_text: str  # "2 Dec 2026, 09:05", in the viewer's zone
    customer: str  # the name, or "—"
    phone: str  # international format, or "—"
    direction: str  # "Inbound"
    status: str  # as Vox sent it (the badge is drawn from it)
    duration: str  # "2:02", or "—"


def call_rows(*, calls: Sequence[Call]) -> list[CallRow]:
    """The table's rows, in the active time zone (the viewer's)."""
    zone = timezone.get_current_timezone()
    # reverse() once a page (~25 µs), not once a row.
    links = RowLinks("calls:detail", sample="x")
    rows = []
    for call in calls:
        created = moment(call.created_at, zone)
        rows.append(
            CallRow(
                url=links.url(call.id),
                created_iso=created.iso,
                created_text=created.text,
                customer=call.customer_name or "—",
                phone=phone_display(call.customer_phone),
                direction=call.direction[:1].upper() + call.direction[1:],
                status=call.status,
                duration=duration_text(call.duration_seconds),
            )
        )
    return rows


# A row of the table, written as HTML here once a row (lib.rows says why), up to 100 a page.
CALL_ROW_HTML = (
    '<tr class="call-row">'
    '<td class="nowrap"><time datetime="{created_iso}">{created_text}</time></td>'
    '<td><a href="{url}">{customer}</a></td>'
    '<td class="nowrap">{phone}</td>'
    "<td>{direction}</td>"
    "<td>{badge}</td>"
    '<td class="numeric">{duration}</td>'
    "</tr>"
)


def call_rows_html(*, rows: Sequence[CallRow]) -> SafeString:
    """The table's body: CALL_ROW_HTML for each row."""
    return html_lines(html_format(CALL_ROW_HTML, **row, badge=status_badge(row["status"])) for row in rows)


@dataclass(frozen=True)
class MirrorFacts:
    """What the history page shows of the mirror besides the list: the side panel's pickers and
    whether the mirror holds any call (the export line says when it is empty)."""

    has_calls: bool
    pickers: PanelChoices


# Four queries on every page (one growing with the placed calls) for lists that change when a
# sync or a placement adds an agent, a number or a user: one cache read instead, at most this old.
MIRROR_FACTS_SECONDS = 60
# Until the first sync: long enough to spare a busy page the reads, short enough that the first
# sync's calls are announced almost at once.
EMPTY_MIRROR_FACTS_SECONDS = 5
# And each web process keeps them itself this long, sparing every history page a round trip to Redis.
MIRROR_FACTS_KEPT_HERE = 5
_MIRROR_FACTS_KEY = "voxdash:calls:mirror-facts:1"  # the number changes with MirrorFacts' shape


def mirror_facts(*, query: Mapping[str, str]) -> MirrorFacts:
    """The facts, from the shared cache when it has them. Read afresh when the query picks an
    agent, number or user the cached lists do not know (one added since): a link to a new
    agent's calls is never refused for a stale list."""

    fresh = []

    def fetch() -> MirrorFacts:
        fresh.append(True)
        return MirrorFacts(has_calls=models.Call.objects.exists(), pickers=panel_choices())

    def lifetime(facts: MirrorFacts) -> float:
        return MIRROR_FACTS_SECONDS if facts.has_calls else EMPTY_MIRROR_FACTS_SECONDS

    facts = cached_or_fetch(_MIRROR_FACTS_KEY, lifetime, fetch, kept_here=MIRROR_FACTS_KEPT_HERE)
    if not fresh and facts.pickers.lack_any(query):
        facts = cached_or_fetch(
            _MIRROR_FACTS_KEY, lifetime, fetch, refresh=True, kept_here=MIRROR_FACTS_KEPT_HERE
        )
    return facts
