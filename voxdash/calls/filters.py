"""Which calls: one immutable value, made by `CallFiltersForm` (or by hand, for a link), taken by
the history, the CSV export, the stats page's links into the history and the overview's tiles.

It knows the three shapes a filter takes: the API's keyword arguments (when the API can answer it
at all), the query string of a link or a form's hidden inputs, and the mirror's ORM filter. Names
and meanings are the API's (`direction`, `status`, `search`) and the history's own query
parameters for what only the mirror can apply.
"""

import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from typing import ClassVar
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.urls import reverse

from voxdash.lib.formatting import local_day_start
from voxdash.placements.models import PlacedCall


@dataclass(frozen=True)
class CallFilters:
    """Every field None means unset (0 is a real duration and a real hour). Dates are whole days
    in the active time zone, both ends included. Agent, from-number and "placed by" are known only
    for calls placed through voxdash: they select through PlacedCall.mirrored_call (and the
    placed call's copy of that call's created_at and status)."""

    direction: str | None = None
    status: str | None = None
    search: str | None = None
    created_after: date | None = None
    created_before: date | None = None
    agent: str | None = None
    from_number: str | None = None
    duration_min: int | None = None
    duration_max: int | None = None
    placed_by: str | None = None
    hour: int | None = None

    # What Vox's list can filter by; any other filter is the mirror's alone.
    API_FIELDS: ClassVar[tuple[str, ...]] = ("direction", "status", "search")
    # What selects placed calls, and what else a placed call's copy of its call can apply
    # (placed_calls_by_copy applies them).
    PLACED_FIELDS: ClassVar[tuple[str, ...]] = ("agent", "from_number", "placed_by")
    PLACED_COPY_FIELDS: ClassVar[tuple[str, ...]] = ("status", "created_after", "created_before")

    def __bool__(self) -> bool:
        return any(value is not None for _, value in self._items())

    def _items(self):
        # Not dataclasses.asdict(): it deep-copies every value, on every page, for nothing.
        return ((f.name, getattr(self, f.name)) for f in fields(self))

    @property
    def api_can_answer(self) -> bool:
        """False when a filter only the mirror can apply is set: the API would ignore it and
        answer with the wrong calls."""
        return all(getattr(self, name) is None for name in self.mirror_only_names())

    @classmethod
    def mirror_only_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name not in cls.API_FIELDS)

    def api_params(self) -> dict:
        """Keyword arguments for `VoxClient.list_calls` (meaningful only when `api_can_answer`)."""
        return {name: getattr(self, name) for name in self.API_FIELDS}

    # --- as a query string

    def hidden_inputs(self, *, without: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """The set filters as (name, value) query parameters in field order, dates as YYYY-MM-DD:
        the hidden inputs that keep them across a form that sets the others (the search box keeps
        all but `search`)."""
        return [
            (name, value.isoformat() if isinstance(value, date) else str(value))
            for name, value in self._items()
            if value is not None and name not in without
        ]

    def query_string(self) -> str:
        return urlencode(self.hidden_inputs())

    def history_url(self) -> str:
        """The call history of exactly these calls."""
        query = self.query_string()
        return reverse("calls:list") + ("?" + query if query else "")

    # --- as the mirror's filter

    def q(self) -> Q:
        """The mirror's filter for `Call` rows; the same calls the API would list (search matches
        as the API's does)."""
        q = Q()
        if self.direction:
            q &= Q(direction=self.direction)
        if self.status:
            q &= Q(status=self.status)
        if self.search:
            q &= search_q(self.search)
        starts, ends = self.created_between()
        if starts:
            q &= Q(created_at__gte=starts)
        if ends:
            q &= Q(created_at__lt=ends)
        if self.duration_min is not None:
            q &= Q(duration_seconds__gte=self.duration_min)
        if self.duration_max is not None:
            q &= Q(duration_seconds__lte=self.duration_max)
        if self.hour is not None:
            q &= Q(created_at__hour=self.hour)  # in the active zone, as USE_TZ makes lookups
        placed = self.placed_calls()
        if placed is not None:
            # By the mirrored row's key: a look-up of the primary key per placed call, not of the
            # 36-character vox_id.
            q &= Q(pk__in=placed.values("mirrored_call"))
        return q

    def placed_calls(self) -> QuerySet[PlacedCall] | None:
        """The placed calls these filters select (by agent, number or user) that the mirror has
        the call of; None when they select none of those ways."""
        return placed_calls_mirrored(agent=self.agent, from_number=self.from_number, placed_by=self.placed_by)

    def placed_calls_by_copy(self) -> QuerySet[PlacedCall] | None:
        """placed_calls() narrowed by the status and dates (PLACED_COPY_FIELDS) their copy of the
        call holds: with only_placed_calls, the matching calls and their order, the mirror unread.
        Elsewhere the mirror's own rows decide (q())."""
        placed = self.placed_calls()
        if placed is None:
            return None
        if self.status:
            placed = placed.filter(mirrored_call_status=self.status)
        starts, ends = self.created_between()
        if starts:
            placed = placed.filter(mirrored_call_created_at__gte=starts)
        if ends:
            placed = placed.filter(mirrored_call_created_at__lt=ends)
        return placed

    @property
    def only_placed_calls(self) -> bool:
        """True when the filters select by placed calls (agent, number, placed by) and otherwise
        only by what the placed calls' copy of their call holds (status, dates): then the placed
        calls alone say which calls match, and in which order (placed_calls_by_copy)."""
        unset = dict.fromkeys((*self.PLACED_FIELDS, *self.PLACED_COPY_FIELDS))
        return self.placed_calls() is not None and not replace(self, **unset)

    def created_between(self) -> tuple[datetime | None, datetime | None]:
        """The dates as times: from the start of the first day to the start of the day after the
        last (None: that end open), in the active time zone."""
        starts = local_day_start(self.created_after) if self.created_after else None
        ends = local_day_start(self.created_before + timedelta(days=1)) if self.created_before else None
        return starts, ends


def placed_calls_mirrored(
    *, agent: str | None = None, from_number: str | None = None, placed_by: str | None = None
) -> QuerySet[PlacedCall] | None:
    """voxdash's placed calls with this agent/number/user whose call the mirror has (their
    `mirrored_call`); None: no filter."""
    if not (agent or from_number or placed_by):
        return None
    placed = PlacedCall.objects.filter(mirrored_call__isnull=False)
    if agent:
        placed = placed.filter(payload__ai_agent_id=agent)
    if from_number:
        placed = placed.filter(payload__business_voice_number_id=from_number)
    if placed_by:
        placed = placed.filter(username=placed_by)
    return placed


def search_q(search: str) -> Q:
    """Name or phone contains the text, as the API does; "0801 234" also finds "+234801234…"."""
    q = Q(customer_name__icontains=search) | Q(customer_phone__icontains=search)
    digits = re.sub(r"[\s\-()]", "", search)
    if digits.isdigit() and digits != search:
        q |= Q(customer_phone__contains=digits)
    if digits.isdigit() and digits.startswith("0") and len(digits) > 1:
        q |= Q(customer_phone__contains=digits[1:])  # the national trunk prefix is not in E.164
    return q
