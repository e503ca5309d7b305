"""What keeping the stats rollup costs the mirror's writers, on PostgreSQL.

In this process, no HTTP: the sync's part after the fetch (`call_merge_listing`, pages of 100) and
the webhooks' processing (`call_merge_event`, one transaction per event, as the worker runs it),
each measured with the rollup kept (as deployed) and, interleaved, with `rollup_apply` replaced by
nothing (the floor: the same writes before the rollup). Three kinds of write:
  - insert: every call new (a first full sync),
  - update: every call's status, duration and start change (a sync catching up on live calls),
  - events: vox.call.completed for a quarter of the calls (their status and duration change).
Prints calls (events) per second and the statements per page / per event of each, and the target:
a full sync stays over 2,000 calls/s (benchmarks/sync_calls.py measures it with the fetch); here
the merge alone must leave room for it: over 2,000 calls/s with the rollup, met / NOT met.

    .venv/bin/python benchmarks/rollup_writes.py [--calls 20000] [--repeat 3]
    DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/voxdash_bench_stats_writes
    (dropped and created afresh each run).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import recreate_database  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/voxdash_bench_stats_writes")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("VOXDASH_VAR_DIR", tempfile.mkdtemp(prefix="voxdash-bench-rollup-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

PAGE = 100
START = datetime(2026, 11, 1, tzinfo=UTC)


def listed(n: int, *, live: bool):
    from voxdash.vox import types

    created = START + timedelta(seconds=n * 97)  # ~3 weeks for 20,000 calls: many buckets
    done = not live
    return types.Call.from_api(
        {
            "id": f"call_{n:07}",
            "businessId": "biz_1",
            "direction": "inbound" if n % 10 < 7 else "outbound",
            "status": "ringing" if live else ("completed", "failed", "no_answer", "busy")[n % 4],
            "customerPhone": f"+23480{n:08}",
            "customerName": f"Customer {n}",
            "durationSeconds": 20 + n % 580 if done and n % 4 == 0 else None,
            "startedAt": (created + timedelta(seconds=5)).isoformat() if done and n % 4 < 2 else None,
            "endedAt": None,
            "createdAt": created.isoformat(),
        }
    )


@contextmanager
def rollup_kept(kept: bool):
    if kept:
        yield
        return
    with mock.patch("voxdash.mirror.calls.rollup_apply", lambda delta: None):
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    recreate_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from voxdash.calls.models import Call, CallDurationRollup, CallRollup
    from voxdash.mirror.calls import CallEvent, call_merge_event, call_merge_listing

    call_command("migrate", verbosity=0)
    pages = {
        live: [
            [listed(n, live=live) for n in range(i, min(i + PAGE, args.calls))]
            for i in range(0, args.calls, PAGE)
        ]
        for live in (True, False)
    }
    events = [
        CallEvent(
            call_id=f"call_{n:07}",
            type="vox.call.completed",
            at=START + timedelta(seconds=n * 97 + 90),
            duration_seconds=30 + n % 300,
        )
        for n in range(0, args.calls, 4)
    ]

    def empty():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE calls_call, calls_callrollup, calls_calldurationrollup")

    def insert():
        for page in pages[True]:
            call_merge_listing(page)

    def update():
        for page in pages[False]:
            call_merge_listing(page)

    def apply_events():
        for event in events:
            with transaction.atomic():
                call_merge_event(event)

    steps = (
        ("insert", insert, args.calls),
        ("update", update, args.calls),
        ("events", apply_events, len(events)),
    )
    rates: dict[tuple[str, bool], list[float]] = {}
    statements: dict[tuple[str, bool], int] = {}
    for _ in range(args.repeat):
        for kept in (False, True):  # interleaved: the floor, then the same writes with the rollup
            empty()
            with rollup_kept(kept):
                for name, step, count in steps:
                    started = time.perf_counter()
                    step()
                    rates.setdefault((name, kept), []).append(count / (time.perf_counter() - started))
            if kept:
                # The rollup the writes kept holds every call, once.
                assert (
                    sum(CallRollup.objects.filter(span=60).values_list("calls", flat=True))
                    == Call.objects.count()
                )
                rows = (CallRollup.objects.count(), CallDurationRollup.objects.count())
    # Statements: one more page of each kind and one more event, counted.
    for kept in (False, True):
        empty()
        with rollup_kept(kept):
            with CaptureQueriesContext(connection) as queries:
                call_merge_listing(pages[True][0])
            statements[("insert", kept)] = len(queries)
            with CaptureQueriesContext(connection) as queries:
                call_merge_listing(pages[False][0])
            statements[("update", kept)] = len(queries)
            with CaptureQueriesContext(connection) as queries, transaction.atomic():
                call_merge_event(events[1])
            statements[("events", kept)] = len(queries)
    empty()
    print(f"database: postgresql ({connection.settings_dict['NAME']}); {args.calls:,} calls, pages of {PAGE}")
    print(f"the rollup after the writes: {rows[0]:,} CallRollup rows, {rows[1]:,} CallDurationRollup rows")
    print(
        f"\nmedian of {args.repeat}, per second   floor (no rollup)   with the rollup   cost   statements (floor → rollup)"
    )
    for name, _, _ in steps:
        floor, kept = statistics.median(rates[(name, False)]), statistics.median(rates[(name, True)])
        unit = "per page" if name != "events" else "per event"
        print(
            f"{name:8} {floor:24,.0f} {kept:17,.0f}  {100 * (floor - kept) / floor:+5.0f} %"
            f"   {statements[(name, False)]} → {statements[(name, True)]} {unit}"
        )
    worst = min(statistics.median(rates[(name, True)]) for name in ("insert", "update"))
    verdict = "met" if worst > 2000 else "NOT met"
    print(
        f"\ntarget: the merge with the rollup over 2,000 calls/s (the sync's budget): {worst:,.0f}, {verdict}"
    )


if __name__ == "__main__":
    main()
