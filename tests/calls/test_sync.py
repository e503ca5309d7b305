"""The call sync (voxdash.calls.sync) against the simulator over HTTP."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from voxdash.calls.models import Call, SyncState
from voxdash.calls.sync import calls_sync
from voxdash.mirror.lock import SyncAlreadyRunning, sync_lock
from voxdash.mirror.sync import sync_progress
from voxdash.vox import errors, get_client
from voxdash.vox.statuses import TERMINAL_STATUSES


def list_requests(sim) -> int:
    return sim.stats()["requests"].get("/v1/vox/calls", 0)


def api_calls(limit=100):
    return {c.id: c for c in get_client().list_calls(limit=limit).calls}


def test_full_sync_mirrors_every_call_then_finds_nothing_new(vox_settings, simulator, db):
    first = calls_sync(full=True)
    assert (first.created, first.updated, first.unchanged) == (300, 0, 0)
    assert (first.requests, first.pages) == (3, 3) and list_requests(simulator) == 3
    assert Call.objects.count() == 300
    newest = get_client().list_calls(limit=1).calls[0]
    stored = Call.objects.get(vox_id=newest.id)
    assert (stored.status, stored.customer_phone, stored.created_at) == (
        newest.status,
        newest.customer_phone,
        newest.created_at,
    )
    state = SyncState.objects.get(name="calls")
    assert state.watermark == newest.created_at and state.full_next_page is None and state.last_full_at

    second = calls_sync(full=True)
    assert (second.created, second.updated, second.unchanged, second.requests) == (0, 0, 300, 3)
    assert sync_progress("calls")["state"] == "done"


def test_incremental_after_a_full_sync_reads_one_page(synced, simulator):
    before = list_requests(simulator)
    summary = calls_sync()
    assert (summary.created, summary.updated, summary.requests) == (0, 0, 1)
    assert list_requests(simulator) == before + 1


def test_incremental_on_an_empty_mirror_reads_everything(vox_settings, simulator, db):
    # No walk ever completed, so there is no known ground to stop at.
    summary = calls_sync()
    assert (summary.created, summary.requests) == (300, 3)
    assert SyncState.objects.get(name="calls").watermark is not None


def test_non_terminal_calls_are_refreshed(synced, simulator):
    pending = list(Call.objects.exclude(status__in=TERMINAL_STATUSES).values_list("vox_id", "status"))
    assert len(pending) == 3
    simulator.advance()
    summary = calls_sync()
    assert summary.updated == 3 and summary.requests == 1
    now = api_calls()
    for vox_id, old_status in pending:
        assert Call.objects.get(vox_id=vox_id).status == now[vox_id].status != old_status


def test_old_non_terminal_calls_are_read_again_within_the_age_bound(synced, simulator, settings):
    # The mirror thinks an old call is still ringing (say a webhook was lost): read down to it.
    old = Call.objects.order_by("created_at")[10]
    Call.objects.filter(pk=old.pk).update(status="ringing")
    settings.VOX_SYNC_PENDING_MAX_AGE = 60 * 86_400
    summary = calls_sync()
    assert summary.requests == 3 and summary.updated == 1
    old.refresh_from_db()
    assert old.status in TERMINAL_STATUSES


def test_a_stuck_call_older_than_the_bound_does_not_cost_a_full_walk(synced, simulator, settings):
    old = Call.objects.order_by("created_at")[10]
    Call.objects.filter(pk=old.pk).update(status="ringing")
    settings.VOX_SYNC_PENDING_MAX_AGE = 3600
    assert calls_sync().requests == 1  # the nightly full sync is the one that fixes it


def test_webhook_facts_survive_a_sync(synced, simulator):
    # The in-progress call ended and its recording arrived by webhook; the list has not caught up.
    call = Call.objects.get(status="in_progress")
    Call.objects.filter(pk=call.pk).update(
        status="completed",
        duration_seconds=42,
        recording_url="https://rec.example/a.wav",
        failure_reason="",
        status_at=call.created_at,
    )
    failed = Call.objects.filter(status="failed").first()
    Call.objects.filter(pk=failed.pk).update(failure_reason="carrier_rejected", status_at=failed.created_at)
    calls_sync(full=True)
    call.refresh_from_db()
    failed.refresh_from_db()
    assert call.status == "completed" and call.duration_seconds == 42
    assert call.recording_url == "https://rec.example/a.wav" and call.status_at == call.created_at
    assert failed.failure_reason == "carrier_rejected" and failed.status_at == failed.created_at


def test_a_webhook_only_call_is_completed_by_the_list(synced, simulator):
    # A webhook may name a call before it is listed: the row has only what the event said.
    call = Call.objects.get(status="ringing")
    Call.objects.filter(pk=call.pk).update(status="busy", customer_phone="", status_at=call.created_at)
    calls_sync()
    call.refresh_from_db()
    assert call.status == "busy" and call.customer_phone  # filled in, and not regressed to ringing


def test_upstream_5xx_mid_sync_keeps_pages_and_the_next_run_finishes(vox_settings, simulator, db, no_sleep):
    vox_settings.VOX_MAX_RETRIES = 1
    from voxdash.vox import reset_client

    reset_client()
    get_client()._sleep = no_sleep.append

    def fail_after_first_page(summary):
        if summary.pages == 1:
            simulator.faults.queue(500, count=5, path="/v1/vox/calls")

    with pytest.raises(errors.VoxUnavailable):
        calls_sync(full=True, progress=fail_after_first_page)
    assert Call.objects.count() == 100
    state = SyncState.objects.get(name="calls")
    assert state.full_next_page == 2 and state.watermark is None and "VoxUnavailable" in state.last_error
    assert sync_progress("calls")["state"] == "failed"

    simulator.faults.clear()
    summary = calls_sync(full=True)
    assert (summary.created, summary.requests) == (200, 2)  # resumed at page 2
    assert Call.objects.count() == 300
    assert SyncState.objects.get(name="calls").last_error == ""


def test_rate_limit_is_waited_out_as_retry_after_says(vox_settings, simulator, db, no_sleep):
    simulator.faults.queue(429, count=2, retry_after=1, path="/v1/vox/calls")
    summary = calls_sync(full=True)
    assert summary.created == 300
    assert no_sleep == [1.0, 1.0]


def test_a_long_retry_after_makes_the_task_retry_later(vox_settings, simulator, db, monkeypatch):
    from voxdash.calls import tasks

    class Retry(Exception):
        pass

    asked = {}

    def retry(exc=None, countdown=None, **kwargs):
        asked.update(exc=exc, countdown=countdown)
        return Retry()

    monkeypatch.setattr(tasks.sync_calls, "retry", retry)
    simulator.faults.queue(429, count=10, retry_after=30, path="/v1/vox/calls")
    with pytest.raises(Retry):
        tasks.sync_calls()
    assert isinstance(asked["exc"], errors.VoxRateLimited) and asked["countdown"] == 30


def test_the_task_runs_the_service(vox_settings, simulator, db):
    from voxdash.calls.tasks import sync_calls

    assert sync_calls(full=True) == {"created": 300, "updated": 0, "unchanged": 0, "requests": 3, "pages": 3}
    assert sync_calls() == {"created": 0, "updated": 0, "unchanged": 100, "requests": 1, "pages": 1}


def test_a_killed_full_sync_resumes_where_it_stopped(vox_settings, simulator, db):
    class Killed(BaseException):  # like a SIGTERM'd worker: not an Exception anyone catches
        pass

    def kill_at_page_two(summary):
        if summary.pages == 2:
            raise Killed

    with pytest.raises(Killed):
        calls_sync(full=True, progress=kill_at_page_two)
    assert Call.objects.count() == 200
    summary = calls_sync(full=True)
    assert (summary.created, summary.requests) == (100, 1)
    assert Call.objects.count() == 300


def test_a_killed_incremental_is_finished_by_the_next_one(synced, simulator):
    # As if the 150 newest calls arrived after the last complete walk: not mirrored, and newer
    # than the watermark.
    newest = list(Call.objects.order_by("-created_at", "-id")[:151])
    Call.objects.filter(pk__in=[c.pk for c in newest[:150]]).delete()
    SyncState.objects.filter(name="calls").update(watermark=newest[150].created_at)

    def kill(summary):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        calls_sync(progress=kill)
    assert Call.objects.count() == 250  # page 1 was committed
    # Page 1 is now all unchanged, but newer than the watermark: the next run keeps going.
    summary = calls_sync()
    assert (summary.created, summary.requests) == (50, 2)
    assert Call.objects.count() == 300


def test_only_one_sync_at_a_time(vox_settings, simulator, db):
    with sync_lock("calls"):
        with pytest.raises(SyncAlreadyRunning):
            calls_sync()
    assert list_requests(simulator) == 0

    def nested(summary):
        calls_sync()  # a second sync started while the first runs

    with pytest.raises(SyncAlreadyRunning):
        calls_sync(progress=nested)
    assert calls_sync().requests >= 1  # the lock was released in `finally`


def test_the_lock_expires_and_is_touched_per_page(vox_settings, simulator, db, settings):
    from django.core.cache import cache

    settings.VOX_SYNC_LOCK_SECONDS = 120
    touched = []
    original = cache.touch

    def touch(key, timeout=None, **kw):
        touched.append((key, timeout))
        return original(key, timeout, **kw)

    cache.touch = touch
    try:
        calls_sync(full=True)
    finally:
        del cache.touch
    assert touched == [("voxdash:sync:calls:lock", 120)] * 3


def test_command_prints_progress_and_a_summary(vox_settings, simulator, db):
    out = io.StringIO()
    call_command("vox_sync", stdout=out)
    text = out.getvalue()
    assert "page 3/3" in text and "[" in text  # plain lines without a TTY
    assert "Calls: 300 created, 0 updated, 0 unchanged; 3 requests used" in text
    assert "Numbers and agents: 9 created" in text

    out = io.StringIO()
    call_command("vox_sync", "--full", "--skip-directory", stdout=out)
    assert "Calls: 0 created, 0 updated, 300 unchanged; 3 requests used" in out.getvalue()


def test_command_explains_an_upstream_failure(vox_settings, simulator, db, no_sleep):
    simulator.faults.queue(503, count=20)
    with pytest.raises(CommandError, match="run again to continue"):
        call_command("vox_sync", stdout=io.StringIO())


def test_odd_values_from_vox_fit_the_columns(db):
    """A name longer than the column or a negative duration must not make a page unsaveable."""
    from datetime import UTC, datetime

    from voxdash.mirror.calls import call_merge_listing
    from voxdash.vox.types import Call as ApiCall

    listed = ApiCall.from_api(
        {
            "id": "c-odd",
            "businessId": "b",
            "direction": "outbound",
            "status": "completed",
            "customerPhone": "+2348030000000",
            "customerName": "N" * 500,
            "durationSeconds": -5,
            "startedAt": None,
            "endedAt": None,
            "createdAt": datetime.now(UTC).isoformat(),
        }
    )
    assert call_merge_listing([listed]) == ["created"]
    stored = Call.objects.get(vox_id="c-odd")
    assert len(stored.customer_name) == Call._meta.get_field("customer_name").max_length
    assert stored.duration_seconds is None
