"""The history's agent, number and "placed by" filters select through each placed call's copy of
its mirrored call (PlacedCall.mirrored_call, its created_at and its status): the right calls,
newest first, counted once, however the placement and the call met (linked before or after the
mirror had the call, a webhook first and the list later, repeats of one key), with a status or
dates as the call has them now, and for records made before the copy existed (the migrations
fill it). And a text search counts to its own, lower cap."""

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from voxdash.calls import mirror_query
from voxdash.calls.filters import CallFilters
from voxdash.calls.mirror_query import mirror_exact_count, mirror_page
from voxdash.calls.models import Call
from voxdash.mirror import placements as mirror_placements
from voxdash.mirror.calls import CallEvent, call_merge_event, call_merge_listing
from voxdash.mirror.placements import (
    placement_link,
    placement_mirrored_call,
    placements_link,
    placements_mend,
)
from voxdash.placements.models import NOT_MIRRORED, PlacedCall
from voxdash.vox import types

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PHONE = "+2348012345678"


def listed(call_id: str, minutes: int, **changes) -> types.Call:
    data = {
        "id": call_id,
        "businessId": "biz_1",
        "direction": "outbound",
        "status": "completed",
        "customerPhone": PHONE,
        "customerName": "Adaeze Okonkwo",
        "durationSeconds": 60,
        "startedAt": None,
        "endedAt": None,
        "createdAt": (T0 + timedelta(minutes=minutes)).isoformat(),
    }
    data.update(changes)
    return types.Call.from_api(data)


def placement(call_id: str, *, agent: str = "agent-a", username: str = "ada", key=None) -> PlacedCall:
    """An accepted placement Vox answered with `call_id`, not linked to any call yet."""
    return PlacedCall.objects.create(
        username=username,
        idempotency_key=key or uuid.uuid4(),
        payload={"customer_phone": PHONE, "ai_agent_id": agent, "business_voice_number_id": "num-1"},
        payload_fingerprint="f",
        customer_phone=PHONE,
        outcome=PlacedCall.Outcome.QUEUED,
        vox_placement_id=call_id,
        vox_created_at=T0,
    )


def page_of(filters: CallFilters, page: int = 1, limit: int = 20) -> tuple[list[str], int, bool]:
    calls, meta = mirror_page(filters=filters, page=page, limit=limit)
    return [c.id for c in calls], meta.total, meta.total_is_lower_bound


@pytest.mark.django_db
def test_a_placement_linked_from_the_apis_list_is_found_once_the_mirror_has_its_call():
    placed = placement("c1")
    placement_link(placed, listed("c1", 5))  # found in the API's list: the mirror lacks it yet
    placed.refresh_from_db()
    assert placed.listed_call_id == "c1" and placed.mirrored_call_id is None
    assert page_of(CallFilters(agent="agent-a")) == ([], 0, False)

    call_merge_listing([listed("c1", 5), listed("other", 6)])

    placed.refresh_from_db()
    call = Call.objects.get(vox_id="c1")
    assert placed.mirrored_call_id == call.pk and placed.mirrored_call_created_at == call.created_at
    assert page_of(CallFilters(agent="agent-a")) == (["c1"], 1, False)
    assert page_of(CallFilters(placed_by="ada", status="completed")) == (["c1"], 1, False)
    assert page_of(CallFilters(agent="agent-b")) == ([], 0, False)


@pytest.mark.django_db
def test_a_call_first_known_from_a_webhook_is_reordered_when_the_list_moves_its_created_at():
    for n, call_id in enumerate(("early", "late")):
        call_merge_listing([listed(call_id, 10 + n)])
        placement_link(placement(call_id), Call.objects.get(vox_id=call_id))
    # The webhook comes first: the call is created at the event's time, the newest of the three.
    call_merge_event(CallEvent(call_id="hooked", type="vox.call.started", at=T0 + timedelta(minutes=30)))
    hooked = placement("hooked")
    placement_link(hooked, Call.objects.get(vox_id="hooked"))
    assert page_of(CallFilters(agent="agent-a")) == (["hooked", "late", "early"], 3, False)

    # Vox's list says it was created first of all: the placed call's copy follows, and the order.
    call_merge_listing([listed("hooked", 0)])

    hooked.refresh_from_db()
    assert hooked.mirrored_call_created_at == T0 == Call.objects.get(vox_id="hooked").created_at
    assert page_of(CallFilters(agent="agent-a")) == (["late", "early", "hooked"], 3, False)
    assert page_of(CallFilters(agent="agent-a"), page=2, limit=2) == (["hooked"], 3, False)


@pytest.mark.django_db
def test_repeats_of_one_key_are_one_call_and_a_call_the_mirror_lacks_is_not_counted():
    call_merge_listing([listed("c1", 1), listed("c2", 2)])
    key = uuid.uuid4()
    first = placement("c1", key=key)
    placement_link(first, Call.objects.get(vox_id="c1"))
    # A repeat answered from the first attempt (placements.services._answer_from) copies its link.
    PlacedCall.objects.create(
        username="ada",
        idempotency_key=key,
        payload=first.payload,
        payload_fingerprint="f",
        customer_phone=PHONE,
        outcome=PlacedCall.Outcome.REPLAYED,
        vox_placement_id="c1",
        listed_call_id="c1",
    )
    placement_link(placement("c2"), Call.objects.get(vox_id="c2"))
    placement_link(placement("c9"), listed("c9", 9))  # listed by the API, never mirrored
    assert PlacedCall.objects.filter(mirrored_call__isnull=False).count() == 3
    assert page_of(CallFilters(placed_by="ada")) == (["c2", "c1"], 2, False)
    assert mirror_exact_count(filters=CallFilters(placed_by="ada")) == 2


@pytest.mark.django_db
def test_past_the_cap_placed_calls_alone_page_on_newest_first(monkeypatch):
    call_merge_listing([listed(f"c{n}", n) for n in range(7)])
    for n in range(7):
        placement_link(placement(f"c{n}"), Call.objects.get(vox_id=f"c{n}"))
    monkeypatch.setattr(mirror_query, "MIRROR_COUNT_CAP", 4)
    newest = [f"c{n}" for n in reversed(range(7))]
    assert page_of(CallFilters(agent="agent-a"), page=1, limit=3) == (newest[:3], 4, True)
    assert page_of(CallFilters(agent="agent-a"), page=3, limit=3) == (newest[6:], 4, True)
    calls, meta = mirror_page(filters=CallFilters(agent="agent-a"), page=2, limit=3)
    assert [c.id for c in calls] == newest[3:6] and meta.has_more
    assert mirror_exact_count(filters=CallFilters(agent="agent-a")) == 7


@pytest.mark.django_db(transaction=True)  # the mirror's signal is sent on commit
def test_a_link_that_missed_its_mirrored_call_is_mended_when_the_mirror_next_writes_the_call():
    call_merge_listing([listed("c1", 1, status="ringing")])
    placed = placement("c1")
    placement_link(placed, Call.objects.get(vox_id="c1"))
    # As when the link and the mirror's insert ran at once, neither seeing the other's write.
    PlacedCall.objects.filter(pk=placed.pk).update(mirrored_call=None, mirrored_call_created_at=None)
    assert page_of(CallFilters(agent="agent-a")) == ([], 0, False)

    call_merge_listing([listed("c1", 1, status="completed")])  # any change to the call

    placed.refresh_from_db()
    assert placed.mirrored_call_id == Call.objects.get(vox_id="c1").pk
    assert page_of(CallFilters(agent="agent-a")) == (["c1"], 1, False)


@pytest.mark.django_db
def test_a_record_linked_by_id_alone_finds_its_mirrored_call_when_saved():
    call_merge_listing([listed("c1", 1)])
    record = placement("c1")
    record.listed_call_id = "c1"
    record.save(update_fields=["listed_call_id"])
    record.refresh_from_db()
    assert record.mirrored_call_id == Call.objects.get(vox_id="c1").pk
    assert record.mirrored_call_status == "completed"
    assert page_of(CallFilters(agent="agent-a")) == (["c1"], 1, False)
    assert page_of(CallFilters(agent="agent-a", status="completed")) == (["c1"], 1, False)


BEFORE = [("placements", "0006_list_order_indexes"), ("calls", "0006_local_hour_newest")]
AFTER = [("placements", "0007_mirrored_call")]


@pytest.fixture
def back_to_latest():
    yield
    call_command("migrate", "placements", verbosity=0)


def models_at(state: list[tuple[str, str]], *, migrate: bool = True):
    """The Call and PlacedCall models as of these migrations (the database migrated back to them)."""
    executor = MigrationExecutor(connection)
    if migrate:
        executor.migrate(state)
    apps = executor.loader.project_state(state).apps
    return apps.get_model("calls", "Call"), apps.get_model("placements", "PlacedCall")


def migrated_to(state: list[tuple[str, str]]):
    """The PlacedCall model after migrating forward to these migrations."""
    return models_at(state)[1]


def old_placed_call(model, **fields):
    """A placed call as a worker of an older version records it (its model: models_at)."""
    defaults = {"username": "ada", "payload": {"ai_agent_id": "agent-a"}, "payload_fingerprint": "f"}
    return model.objects.create(**defaults, customer_phone=PHONE, outcome="queued", **fields)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_the_migration_fills_the_copy_for_placed_calls_already_linked():
    OldCall, OldPlaced = models_at(BEFORE)
    call = OldCall.objects.create(
        vox_id="c1", direction="outbound", status="completed", customer_phone=PHONE, created_at=T0
    )
    for listed_call_id in ("c1", "c1", "not-mirrored", ""):
        old_placed_call(OldPlaced, listed_call_id=listed_call_id)
    New = migrated_to(AFTER)
    copies = sorted(
        New.objects.values_list("listed_call_id", "mirrored_call_id", "mirrored_call_created_at"),
        key=lambda row: row[0],
    )
    assert copies == [
        ("", None, None),
        ("c1", call.pk, T0),
        ("c1", call.pk, T0),
        ("not-mirrored", None, None),
    ]


@pytest.mark.django_db
def test_a_search_counts_to_its_own_cap_and_lists_the_right_calls_newest_first(monkeypatch):
    call_merge_listing(
        [listed(f"ok{n}", n) for n in range(6)]
        + [
            listed(f"zz{n}", 10 + n, customerName="Zoë Müller", customerPhone="+2348090000000")
            for n in range(3)
        ]
    )
    monkeypatch.setattr(mirror_query, "MIRROR_SEARCH_COUNT_CAP", 4)
    okonkwo = [f"ok{n}" for n in reversed(range(6))]
    assert page_of(CallFilters(search="okonkwo"), limit=4) == (okonkwo[:4], 4, True)
    assert page_of(CallFilters(search="okonkwo"), page=2, limit=4) == (okonkwo[4:], 4, True)
    assert mirror_exact_count(filters=CallFilters(search="okonkwo")) == 6
    # Under the search's cap, exact; filters without a search still count to MIRROR_COUNT_CAP.
    assert page_of(CallFilters(search="müller")) == (["zz2", "zz1", "zz0"], 3, False)
    assert page_of(CallFilters(search="8090000")) == (["zz2", "zz1", "zz0"], 3, False)
    assert page_of(CallFilters(status="completed"), limit=4)[1:] == (9, False)


def unlink_copy(placed: PlacedCall) -> None:
    """The link without its copy: what a link that raced the mirror's insert, or a worker of a
    version before placements 0007, leaves behind."""
    PlacedCall.objects.filter(pk=placed.pk).update(**NOT_MIRRORED)


@pytest.mark.django_db
def test_a_linked_placement_missing_its_copy_is_mended_when_its_call_is_read():
    call_merge_listing([listed("c1", 1)])
    placed = placement("c1")
    placement_link(placed, Call.objects.get(vox_id="c1"))
    unlink_copy(placed)
    call_merge_listing([listed("c1", 1)])  # a re-sync: the call is unchanged, nothing follows it
    assert page_of(CallFilters(agent="agent-a")) == ([], 0, False)

    placement_mirrored_call(PlacedCall.objects.get(pk=placed.pk))  # its page, or its progress poll

    assert page_of(CallFilters(agent="agent-a")) == (["c1"], 1, False)


@pytest.mark.django_db
def test_the_sweep_mends_missing_and_old_copies_and_leaves_the_right_ones():
    call_merge_listing([listed("c1", 1), listed("c2", 2), listed("c3", 3)])
    placed = {}
    for vox_id in ("c1", "c2", "c3"):
        placed[vox_id] = placement(vox_id)
        placement_link(placed[vox_id], Call.objects.get(vox_id=vox_id))
    unlink_copy(placed["c1"])
    # c2's copy of created_at is old (Vox's createdAt moved while another transaction linked it),
    # c3's of its status (the call completed while another transaction linked it as ringing).
    PlacedCall.objects.filter(pk=placed["c2"].pk).update(mirrored_call_created_at=T0 - timedelta(days=1))
    PlacedCall.objects.filter(pk=placed["c3"].pk).update(mirrored_call_status="ringing")
    placement("unlisted")  # never linked: nothing to mend
    assert page_of(CallFilters(agent="agent-a", status="completed")) == (["c2"], 1, False)

    assert placements_mend() == 3

    for vox_id in ("c1", "c2", "c3"):
        record, call = PlacedCall.objects.get(pk=placed[vox_id].pk), Call.objects.get(vox_id=vox_id)
        assert (record.mirrored_call_id, record.mirrored_call_created_at, record.mirrored_call_status) == (
            call.pk,
            call.created_at,
            call.status,
        )
    assert page_of(CallFilters(agent="agent-a")) == (["c3", "c2", "c1"], 3, False)
    assert page_of(CallFilters(agent="agent-a", status="completed")) == (["c3", "c2", "c1"], 3, False)
    assert placements_mend() == 0  # nothing left to write


@pytest.mark.django_db
def test_a_full_sync_mends_the_copies(vox_settings):
    from voxdash.calls.sync import calls_sync

    calls_sync(full=True)
    call = Call.objects.order_by("-created_at").first()
    placed = placement(call.vox_id)
    placement_link(placed, call)
    unlink_copy(placed)

    calls_sync(full=True)  # every call unchanged: only the sweep can mend it

    placed.refresh_from_db()
    assert (placed.mirrored_call_id, placed.mirrored_call_created_at) == (call.pk, call.created_at)


@pytest.mark.django_db
def test_a_status_with_a_placed_call_filter_follows_the_call_as_the_list_and_webhooks_move_it():
    call_merge_listing(
        [listed("c1", 1, status="ringing"), listed("c2", 2), listed("c3", 3, status="ringing")]
    )
    for vox_id in ("c1", "c2", "c3"):
        placement_link(placement(vox_id), Call.objects.get(vox_id=vox_id))
    placement_link(placement("b1", agent="agent-b"), listed("b1", 4))  # the mirror gains it below
    completed, ringing = (
        CallFilters(agent="agent-a", status="completed"),
        CallFilters(agent="agent-a", status="ringing"),
    )
    assert page_of(completed) == (["c2"], 1, False)
    assert page_of(ringing) == (["c3", "c1"], 2, False)

    call_merge_event(CallEvent(call_id="c1", type="vox.call.completed", at=T0 + timedelta(minutes=9)))
    assert page_of(completed) == (["c2", "c1"], 2, False)
    call_merge_listing([listed("c3", 3, status="failed"), listed("b1", 4, status="busy")])
    assert page_of(completed) == (["c2", "c1"], 2, False)
    assert page_of(ringing) == ([], 0, False)
    assert page_of(CallFilters(agent="agent-a", status="failed")) == (["c3"], 1, False)
    assert page_of(CallFilters(agent="agent-b", status="busy")) == (["b1"], 1, False)
    assert mirror_exact_count(filters=completed) == 2
    # The copy is what the mirror holds, call by call.
    for record in PlacedCall.objects.exclude(mirrored_call=None):
        assert record.mirrored_call_status == Call.objects.get(pk=record.mirrored_call_id).status


@pytest.mark.django_db
def test_dates_and_a_status_with_a_placed_call_filter_are_answered_by_the_placed_calls_copy():
    call_merge_listing([listed("d1", 0), listed("d2", 24 * 60), listed("d3", 2 * 24 * 60, status="busy")])
    for vox_id in ("d1", "d2", "d3"):
        placement_link(placement(vox_id), Call.objects.get(vox_id=vox_id))
    day = T0.date()
    later = CallFilters(agent="agent-a", created_after=day + timedelta(days=1))
    assert later.only_placed_calls  # no look-up of a mirrored call per placed call
    assert page_of(later) == (["d3", "d2"], 2, False)
    assert page_of(CallFilters(placed_by="ada", created_before=day + timedelta(days=1))) == (
        ["d2", "d1"],
        2,
        False,
    )
    both = CallFilters(
        agent="agent-a", status="completed", created_after=day, created_before=day + timedelta(days=1)
    )
    assert both.only_placed_calls and page_of(both) == (["d2", "d1"], 2, False)
    # With a filter the copy does not hold, the mirrored calls themselves decide, copy or no copy.
    assert not CallFilters(agent="agent-a", direction="outbound").only_placed_calls
    PlacedCall.objects.filter(listed_call_id="d3").update(mirrored_call_status="ringing")
    assert page_of(CallFilters(agent="agent-a", direction="outbound", status="busy")) == (["d3"], 1, False)
    assert page_of(CallFilters(agent="agent-a", direction="outbound", status="ringing")) == ([], 0, False)


BEFORE_STATUS = [("placements", "0007_mirrored_call")]
AFTER_STATUS = [("placements", "0009_fill_mirrored_call_status")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_the_migration_fills_the_status_copy_for_placed_calls_already_mirrored():
    OldCall, OldPlaced = models_at(BEFORE_STATUS)
    call = OldCall.objects.create(
        vox_id="c1", direction="outbound", status="busy", customer_phone=PHONE, created_at=T0
    )
    for mirrored_call_id in (call.pk, call.pk + 1000, None):  # mirrored, a key the mirror lost, none
        old_placed_call(OldPlaced, listed_call_id="c1", mirrored_call_id=mirrored_call_id)
    New = migrated_to(AFTER_STATUS)
    assert sorted(New.objects.values_list("mirrored_call_status", flat=True)) == ["", "", "busy"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_of_the_version_before_the_status_copy_still_records_the_calls_it_places():
    # Its model has no mirrored_call_status (a rolling deploy: the column is there, that worker's
    # INSERT leaves it out): the database's default fills it.
    old = old_placed_call(models_at(BEFORE_STATUS, migrate=False)[1], vox_placement_id="c1")
    assert PlacedCall.objects.get(pk=old.pk).mirrored_call_status == ""


@pytest.mark.django_db
def test_a_link_made_from_an_old_read_of_the_call_copies_the_call_as_the_mirror_has_it():
    call_merge_listing([listed("c1", 1, status="ringing")])
    placed = placement("c1")
    read_before = Call.objects.get(vox_id="c1")  # what a worker read before another completed it
    call_merge_event(CallEvent(call_id="c1", type="vox.call.completed", at=T0 + timedelta(minutes=9)))

    placement_link(placed, read_before)

    assert PlacedCall.objects.get(pk=placed.pk).mirrored_call_status == "completed"
    assert page_of(CallFilters(agent="agent-a", status="completed")) == (["c1"], 1, False)


@pytest.mark.django_db
def test_after_the_mirror_writes_a_call_every_placed_call_of_it_takes_the_copy_again():
    call_merge_listing([listed("c1", 1)])
    placed = placement("c1")
    placement_link(placed, Call.objects.get(vox_id="c1"))
    # As a link committed after the writer's follow would leave it, key and all.
    PlacedCall.objects.filter(pk=placed.pk).update(mirrored_call_status="ringing")

    placements_link(["c1"])  # the writer's signal, once it has committed

    assert page_of(CallFilters(agent="agent-a", status="completed")) == (["c1"], 1, False)
    assert page_of(CallFilters(agent="agent-a", status="ringing")) == ([], 0, False)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_status_moved_while_a_link_is_being_written_reaches_the_placed_call(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("two writers at once are PostgreSQL's case (SQLite has one writer at a time)")
    call_merge_listing([listed("c1", 1, status="ringing")])
    placed = placement("c1")
    read, release = threading.Event(), threading.Event()
    copy_of = mirror_placements._copy_of

    def pausing_copy_of(call):
        # The linker pauses between reading the call and writing the copy: the webhook's worker
        # then tries to complete the call (with the lock, it waits; without, it wins the race).
        copy = copy_of(call)
        if threading.current_thread().name == "linker":
            read.set()
            release.wait(10)
        return copy

    monkeypatch.setattr(mirror_placements, "_copy_of", pausing_copy_of)
    errors = []

    def link():
        try:
            placement_link(placed, Call.objects.get(vox_id="c1"))  # reads "ringing"
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)
        finally:
            connection.close()

    def complete():
        try:
            read.wait(10)
            with transaction.atomic():
                call_merge_event(
                    CallEvent(call_id="c1", type="vox.call.completed", at=T0 + timedelta(minutes=9))
                )
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=link, name="linker"), threading.Thread(target=complete)]
    for thread in threads:
        thread.start()
    read.wait(10)
    time.sleep(0.5)  # the webhook's worker is at the call's lock (without the lock: long done)
    release.set()
    for thread in threads:
        thread.join(30)

    assert not errors
    assert Call.objects.get(vox_id="c1").status == "completed"
    assert PlacedCall.objects.get(pk=placed.pk).mirrored_call_status == "completed"
    assert page_of(CallFilters(agent="agent-a", status="completed")) == (["c1"], 1, False)
