"""The stats rollup stays equal to a direct count of the mirror, whatever the order of the writes.

Each check compares the rollup as the writers left it with the one `rollup_rebuild` counts afresh,
and the stats page's figures from the rollup with the figures counted from the calls, in zones
whose days start on the hour, the half and the quarter hour.
"""

import math
import random
import threading
from datetime import UTC, date, datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from voxdash.calls.models import Call, CallDurationRollup, CallRollup
from voxdash.mirror.calls import CallEvent, call_merge_event, call_merge_listing
from voxdash.mirror.rollup import rollup_rebuild, span_start
from voxdash.stats.selectors import Period, call_stats, call_stats_counted
from voxdash.vox import types

from .test_merge_rules import CASES, T0, event_then_list, list_then_event

# Whole-hour offsets (read from the hour rows), half and three-quarter hours (the quarter-hours), and
# Lord Howe Island, whose summer time is half an hour (+11 in summer, +10:30 in winter).
ZONES = (
    "UTC",
    "Africa/Lagos",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
)
STATUSES = ("queued", "ringing", "in_progress", "completed", "failed", "no_answer", "busy", "canceled")
EVENT_TYPES = ("vox.call.started", "vox.call.completed", "vox.call.failed", "vox.recording.ready")


def rollup_rows() -> tuple[set, set]:
    """The rollup's non-zero rows, as (key..., counts...) tuples."""
    main = {
        (r.span, r.start, r.status, r.direction, r.calls, r.answered)
        for r in CallRollup.objects.all()
        if r.calls or r.answered
    }
    durations = {
        (r.span, r.start, r.duration_seconds, r.calls) for r in CallDurationRollup.objects.all() if r.calls
    }
    return main, durations


def assert_rollup_is_a_direct_count(days: tuple[date, date] = (date(2026, 11, 23), date(2026, 11, 26))):
    kept = rollup_rows()
    for minutes in (15, 60):
        assert sum(row[4] for row in kept[0] if row[0] == minutes) == Call.objects.count()
    rollup_rebuild()
    assert kept == rollup_rows()
    period = Period(*days)
    for zone in ZONES:
        with timezone.override(ZoneInfo(zone)):
            assert call_stats(period) == call_stats_counted(period, cached=False), zone


def listed(call_id: str, minutes: int, **changes) -> types.Call:
    data = {
        "id": call_id,
        "businessId": "biz_1",
        "direction": "outbound",
        "status": "ringing",
        "customerPhone": "+2348012345678",
        "customerName": "Adaeze Okonkwo",
        "durationSeconds": None,
        "startedAt": None,
        "endedAt": None,
        "createdAt": (T0 + timedelta(minutes=minutes)).isoformat(),
    }
    data.update(changes)
    return types.Call.from_api(data)


@pytest.mark.parametrize("minutes", [15, 60, 1440])
def test_a_span_starts_where_the_epochs_seconds_floored_to_it_say(minutes):
    # span_start reads the UTC clock; its definition is the epoch's seconds floored to the span.
    rng = random.Random(minutes)
    for _ in range(2000):
        seconds = rng.uniform(-2e9, 3e9)  # 1906 to 2065, fractions of a second included
        zone = dt_timezone(timedelta(minutes=rng.choice([-600, -210, 0, 330, 345, 765])))
        when = datetime.fromtimestamp(seconds, zone)
        floored = math.floor(when.timestamp()) // (minutes * 60) * (minutes * 60)
        expected = datetime.fromtimestamp(floored, UTC)
        assert span_start(when, minutes) == expected, when
        assert span_start(when, minutes).tzinfo is UTC


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
@pytest.mark.parametrize("order", [list_then_event, event_then_list], ids=["list, event", "event, list"])
def test_each_merge_rule_in_both_orders(case, order):
    order(case)
    assert_rollup_is_a_direct_count()


def writes(seed: int, calls: int = 60) -> list:
    """A day of writes as syncs and webhooks make them: each call listed on a few pages as it
    goes on (status, duration, times growing), and its events, some twice, some before the call
    was ever listed (so it is first created at the event's time, up to 40 minutes from its own
    createdAt: another quarter-hour, sometimes another day), all shuffled."""
    rng = random.Random(seed)
    out = []
    for n in range(calls):
        call_id = f"call_{seed}_{n}"
        minutes = rng.randrange(-30, 3 * 24 * 60)  # T0 is 09:00 UTC on the 24th: from the 23rd on
        created = T0 + timedelta(minutes=minutes)
        for _ in range(rng.randrange(1, 4)):
            status = rng.choice(STATUSES)
            duration = (
                rng.choice([None, rng.randrange(0, 900)]) if status in ("completed", "failed") else None
            )
            started = (
                (created + timedelta(seconds=5)).isoformat()
                if status != "ringing" and rng.random() < 0.7
                else None
            )
            out.append(
                (
                    "list",
                    listed(
                        call_id,
                        minutes,
                        status=status,
                        durationSeconds=duration,
                        startedAt=started,
                        direction=rng.choice(["inbound", "outbound"]),
                    ),
                )
            )
        for _ in range(rng.randrange(0, 4)):
            kind = rng.choice(EVENT_TYPES)
            at = created + timedelta(minutes=rng.randrange(0, 40), seconds=rng.randrange(60))
            event = CallEvent(
                call_id=call_id,
                type=kind,
                at=at,
                direction=rng.choice(["", "inbound"]),
                duration_seconds=rng.randrange(0, 900) if kind == "vox.call.completed" else None,
                recording_url="https://rec.example/r.wav" if kind == "vox.recording.ready" else "",
                reason="busy line" if kind == "vox.call.failed" else "",
            )
            out += [("event", event)] * rng.choice([1, 1, 2])
    rng.shuffle(out)
    return out


def apply(batch: list) -> None:
    page = []
    for kind, item in batch:
        if kind == "list":
            page.append(item)
            if len(page) == 7:  # pages of a few calls, as the sync's: one call may be on two
                call_merge_listing(page)
                page = []
        else:
            with transaction.atomic():  # as webhooks' processing calls it
                call_merge_event(item)
    if page:
        call_merge_listing(page)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_realistic_mix_of_pages_and_events_in_any_order(seed):
    mix = writes(seed)
    apply(mix)
    assert_rollup_is_a_direct_count()
    # The same writes backwards end in the same figures (the merge rules' promise, kept by the rollup).
    first = call_stats_counted(Period(date(2026, 11, 23), date(2026, 11, 26)), cached=False)
    Call.objects.all().delete()
    CallRollup.objects.all().delete()
    CallDurationRollup.objects.all().delete()
    apply(mix[::-1])
    assert_rollup_is_a_direct_count()
    # Backwards, a listed live status may win over a live event's (see test_merge_rules): totals agree.
    assert call_stats(Period(date(2026, 11, 23), date(2026, 11, 26))).total == first.total


@pytest.mark.django_db
def test_the_command_repairs_a_rollup_that_drifted(capsys):
    apply(writes(4, calls=20))
    kept = rollup_rows()
    CallRollup.objects.update(calls=0)
    CallDurationRollup.objects.all().delete()
    CallRollup.objects.create(
        span=60, start=T0 - timedelta(days=40), status="completed", direction="inbound", calls=5
    )
    call_command("stats_rollup_rebuild")
    assert rollup_rows() == kept
    assert f"Counted {Call.objects.count():,} calls" in capsys.readouterr().out


# --- on PostgreSQL: two writers at once, and a rebuild while they write
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are PostgreSQL's case (SQLite has one writer at a time)")


def in_threads(*targets) -> None:
    errors = []

    def run(target):
        try:
            target()
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_counting_into_the_same_buckets_lose_nothing():
    on_postgres()
    # Both workers create and finish calls of the same quarter-hour, status and duration, so
    # every write of one is an increment of the rows the other is incrementing.
    barrier = threading.Barrier(2)

    def worker(name):
        def run():
            barrier.wait()
            for n in range(60):
                event = CallEvent(
                    call_id=f"{name}_{n}", type="vox.call.completed", at=T0, duration_seconds=30
                )
                with transaction.atomic():
                    call_merge_event(event)

        return run

    in_threads(worker("a"), worker("b"))
    assert set(CallRollup.objects.values_list("span", "calls")) == {(15, 120), (60, 120)}
    assert set(CallDurationRollup.objects.values_list("span", "calls")) == {(15, 120), (60, 120), (1440, 120)}
    assert_rollup_is_a_direct_count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rebuild_while_pages_and_events_are_written_leaves_a_direct_count():
    on_postgres()
    mix = writes(5, calls=120)
    done = threading.Event()

    def rebuilds():
        while not done.is_set():
            rollup_rebuild()

    def writer(part):
        def run():
            try:
                apply(part)
            finally:
                done.set()

        return run

    in_threads(rebuilds, writer(mix))
    assert_rollup_is_a_direct_count()


@pytest.mark.django_db
def test_a_call_a_webhook_creates_between_a_pages_read_and_its_insert_is_counted_once(monkeypatch):
    from voxdash.mirror import calls as mirror_calls

    read_page = mirror_calls._listing_changes
    reads = []

    def webhook_in_between(calls):
        changes = read_page(calls)
        if not reads:  # the first read: the webhook's row and count land before the page's insert
            call_merge_event(
                CallEvent(call_id="call_race", type="vox.call.completed", at=T0, duration_seconds=40)
            )
        reads.append(len(calls))
        return changes

    monkeypatch.setattr(mirror_calls, "_listing_changes", webhook_in_between)
    outcomes = call_merge_listing(
        [listed("call_race", 0, status="completed", durationSeconds=40), listed("call_new", 1)]
    )
    assert reads == [2, 2]  # read again after the insert met the webhook's row
    assert outcomes == ["updated", "created"]  # merged into the webhook's row at once
    assert Call.objects.get(vox_id="call_race").customer_phone == "+2348012345678"
    assert Call.objects.count() == 2
    assert_rollup_is_a_direct_count()
