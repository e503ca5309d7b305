"""The stats rollup: the mirror's calls counted by when they were created, kept in step with every
write to `Call` (in the same transaction) and rebuilt from the mirror by `rollup_rebuild`.

What /stats/ shows needs, for a period of local days: calls by local day and status, by local hour,
status and direction, the answered ones, and the whole-second durations (average, p90, histogram).
Two tables hold that, in UTC so that one copy serves every time zone:

    CallRollup          (span, UTC start, status, direction) -> calls, answered; spans of 15, 60 min
    CallDurationRollup  (span, UTC start, duration in seconds) -> calls, for spans of 15, 60, 1440 min

Why quarter-hours: every time zone's offset from UTC, today and since the 1970s, is a whole number of
quarter-hours (India +5:30, Nepal +5:45, Chatham +12:45), so every local hour and day, in any zone
and across daylight saving changes, is an exact union of UTC quarter-hours: summing them gives the
figures a direct count gives (the stats selectors check the offsets and count directly otherwise).
Hours too, because most zones' offsets are whole hours: their periods read the hour rows, about
four times fewer (a busy quarter-hour has a row for nearly every status and direction).

Why three spans for durations: a duration's rows are many (one per distinct second), so a period's
distribution is read from the coarsest spans that tile it: whole UTC days in the middle, then hours
and quarter-hours at its two ends (stats.selectors' `span_ranges`): at most 2 x (3 + 23) small spans plus the
days, whatever the period's length or the number of calls.

How it stays exact: each call contributes one unit to one CallRollup row of each span (and to its
answered count) and, when it has a duration, one unit to one CallDurationRollup row of each span. A write reads the stored row (the
writers lock it first), works out the contribution before and after (`RollupDelta`) and applies
the difference as `INSERT … ON CONFLICT DO UPDATE SET calls = calls + excluded.calls`: an atomic
increment, so two workers changing one bucket at once never lose an update (keys in sorted order,
so two of them never deadlock on each other's rows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Count, DateTimeField
from django.db.models.expressions import RawSQL

from voxdash.calls.models import (
    ANSWERED,
    CALL_ROLLUP_SPANS,
    ROLLUP_SPANS,
    Call,
    CallDurationRollup,
    CallRollup,
    call_is_answered,
)

# The fields of a Call that decide its contribution: writers read at least these before a change.
ROLLUP_FIELDS = ("created_at", "status", "direction", "started_at", "duration_seconds")
_BATCH = 500  # rows per INSERT on SQLite: well under its limit of bound parameters


def span_start(when: datetime, minutes: int) -> datetime:
    """The start of the UTC span of `minutes` that holds `when` (spans are aligned on the epoch).

    Every span divides a day and the epoch is a UTC midnight, so a span's start is the UTC clock
    time floored to it; read off the clock, which costs half of going through the epoch's
    seconds, and the sync computes three starts for every call it inserts."""
    utc = when.astimezone(UTC)
    minute_of_day = (utc.hour * 60 + utc.minute) // minutes * minutes
    return utc.replace(hour=minute_of_day // 60, minute=minute_of_day % 60, second=0, microsecond=0)


@dataclass
class RollupDelta:
    """Changes to the rollup's counts, keyed as its rows are; `add` a call's values with +1, or -1
    for the values it no longer has."""

    calls: Counter = field(default_factory=Counter)  # (span, start, status, direction) -> calls
    answered: Counter = field(default_factory=Counter)  # same key -> answered calls
    durations: Counter = field(default_factory=Counter)  # (span, start, seconds) -> calls

    def add(self, values: dict[str, Any], sign: int = 1) -> None:
        # Each span's start once: both tables key the quarter-hour and the hour alike.
        starts = {minutes: span_start(values["created_at"], minutes) for minutes in ROLLUP_SPANS}
        answered = call_is_answered(values["status"], values["started_at"])
        for minutes in CALL_ROLLUP_SPANS:
            key = (minutes, starts[minutes], values["status"], values["direction"])
            self.calls[key] += sign
            if answered:
                self.answered[key] += sign
        seconds = values["duration_seconds"]
        if seconds is not None:
            for minutes in ROLLUP_SPANS:
                self.durations[(minutes, starts[minutes], seconds)] += sign

    def change(self, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        """A call's values went from `before` (None: it is new) to `after`."""
        if before is not None:
            if all(before[name] == after[name] for name in ROLLUP_FIELDS):
                return
            self.add(before, -1)
        self.add(after)


def rollup_apply(delta: RollupDelta) -> None:
    """Add `delta` to the rollup's rows (call inside the transaction that wrote the calls)."""
    main = sorted(
        (key, delta.calls[key], delta.answered[key])
        for key in delta.calls.keys() | delta.answered.keys()
        if delta.calls[key] or delta.answered[key]
    )
    _upsert(
        CallRollup,
        ("span", "start", "status", "direction"),
        ("calls", "answered"),
        [(*key, calls, answered) for key, calls, answered in main],
    )
    _upsert(
        CallDurationRollup,
        ("span", "start", "duration_seconds"),
        ("calls",),
        [(*key, n) for key, n in sorted(delta.durations.items()) if n],
    )


def _upsert(model, keys: tuple[str, ...], counts: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT … ON CONFLICT DO UPDATE adding to the counts, one row per key in `rows`' order.
    Django's bulk_create(update_conflicts=True) can only overwrite a count, not add to it."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(name) for name in (*keys, *counts))
    upsert = f"ON CONFLICT ({', '.join(quote(name) for name in keys)}) DO UPDATE SET " + ", ".join(
        f"{quote(name)} = {table}.{quote(name)} + excluded.{quote(name)}" for name in counts
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array a column (as bulk_create inserts on PostgreSQL): a short statement with
            # a parameter a column, where VALUES has one for each of a page's ~2,000 values, each
            # bound by psycopg and planned by PostgreSQL. unnest gives the rows in the arrays'
            # order, so the keys are still locked in sorted order.
            types = [
                model._meta.get_field(name).db_type(connection).split("(")[0] for name in (*keys, *counts)
            ]
            unnest = ", ".join(f"%s::{db_type}[]" for db_type in types)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({unnest}) {upsert}",
                [list(column) for column in zip(*rows)],
            )
            return
        placeholder = "(" + ", ".join(["%s"] * (len(keys) + len(counts))) + ")"
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholder] * len(batch))} {upsert}",
                [_adapted(value) for row in batch for value in row],
            )


def _adapted(value: Any) -> Any:
    # Raw SQL gets no field conversion: a datetime must be given as the backend stores it.
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


# --- the rebuild
def rollup_rebuild(*, progress=None, apps=None) -> int:
    """Count the whole mirror into the rollup again, one UTC day at a time; the calls counted.
    `apps`: a migration's historical models (migration 0004 fills the rollup of an existing mirror).

    Memory stays constant: on PostgreSQL the database groups each day's calls (INSERT … SELECT);
    on SQLite they are streamed (`iterator`) into counters as large as that day's rollup rows,
    never a list of calls. It is safe while syncs and webhooks write: each
    day is one transaction that first takes the rollup's tables for itself (PostgreSQL: LOCK TABLE
    … IN EXCLUSIVE MODE, which readers pass and writers wait for; SQLite: its first statement is a
    write, which takes the database's one write lock), so every writer that changed the rollup
    before has committed and the day's calls are read as they left them, and every writer after
    adds its change (a difference from what it read) to the freshly counted rows, never to stale ones.
    """
    models = _Models(*(apps.get_model("calls", name) for name in _Models._fields)) if apps else _MODELS
    counted = 0
    for day in _days_to_count(models):
        counted += _rebuild_day(day, models)
        if progress is not None:
            progress(day, counted)
    return counted


class _Models(NamedTuple):
    Call: Any
    CallRollup: Any
    CallDurationRollup: Any


_MODELS = _Models(Call, CallRollup, CallDurationRollup)


def _days_to_count(models: _Models) -> list[date]:
    """Every UTC day with a call or a rollup row (a stale row's day must be cleared too)."""
    bounds = []
    for model, column in ((models.Call, "created_at"), (models.CallRollup, "start")):
        first = model.objects.order_by(column).values_list(column, flat=True).first()
        last = model.objects.order_by(f"-{column}").values_list(column, flat=True).first()
        bounds += [when for when in (first, last) if when is not None]
    if not bounds:
        return []
    first_day, last_day = min(bounds).astimezone(UTC).date(), max(bounds).astimezone(UTC).date()
    return [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]


def _rebuild_day(day: date, models: _Models) -> int:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            tables = ", ".join(
                connection.ops.quote_name(m._meta.db_table)
                for m in (models.CallRollup, models.CallDurationRollup)
            )
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
        models.CallRollup.objects.filter(start__gte=start, start__lt=end).delete()
        models.CallDurationRollup.objects.filter(start__gte=start, start__lt=end).delete()
        if connection.vendor == "postgresql":
            return _count_day_in_sql(models, start, end)
        delta = RollupDelta()
        counted = 0
        for values in _calls_between(models.Call, start, end):
            delta.add(values)
            counted += 1
        rollup_apply(delta)
    return counted


def _count_day_in_sql(models: _Models, start: datetime, end: datetime) -> int:
    """PostgreSQL: the day counted by INSERT … SELECT … GROUP BY, so that the tables are locked
    for the database's fraction of a second rather than Python's seconds over a busy day's calls.
    The same keys as `RollupDelta.add` (tests/mirror/test_rollup.py compares the two on PostgreSQL)."""
    calls = models.Call.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for minutes in CALL_ROLLUP_SPANS:
            grouped = (
                calls.annotate(span_start=_span_start_sql(minutes))
                .values("span_start", "status", "direction")
                .annotate(n=Count("id"), picked_up=Count("id", filter=ANSWERED))
            )
            sql, params = grouped.query.sql_with_params()
            cursor.execute(
                f"INSERT INTO {quote(models.CallRollup._meta.db_table)} (span, start, status, direction, calls, answered) "
                f"SELECT %s, g.span_start, g.status, g.direction, g.n, g.picked_up FROM ({sql}) AS g",
                [minutes, *params],
            )
        for minutes in ROLLUP_SPANS:
            grouped = (
                calls.filter(duration_seconds__isnull=False)
                .annotate(span_start=_span_start_sql(minutes))
                .values("span_start", "duration_seconds")
                .annotate(n=Count("id"))
            )
            sql, params = grouped.query.sql_with_params()
            cursor.execute(
                f"INSERT INTO {quote(models.CallDurationRollup._meta.db_table)} (span, start, duration_seconds, calls) "
                f"SELECT %s, g.span_start, g.duration_seconds, g.n FROM ({sql}) AS g",
                [minutes, *params],
            )
    return calls.count()


def _span_start_sql(minutes: int) -> RawSQL:
    # span_start() in SQL: the epoch's seconds floored to the span (PostgreSQL only).
    seconds = minutes * 60
    return RawSQL(
        "to_timestamp(floor(extract(epoch from created_at) / %s) * %s)",
        (seconds, seconds),
        output_field=DateTimeField(),
    )


def _calls_between(model, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    calls = model.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
    return calls.values(*ROLLUP_FIELDS).iterator(chunk_size=5000)
