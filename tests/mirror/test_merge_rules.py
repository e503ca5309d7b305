"""The merge rules of `voxdash.mirror` (its docstring's table), row by row.

Each case is one list row and one webhook event that describe the same call. Applied in both
orders (list then event, event then list) they must leave the same row, and the row must hold
what the table says for the field the case is about.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from voxdash.calls.models import Call
from voxdash.mirror.calls import LIST, RULES, CallEvent, call_merge_event, call_merge_listing
from voxdash.vox import types

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def listed(**changes) -> types.Call:
    data = {
        "id": "call_rule",
        "businessId": "biz_1",
        "direction": "outbound",
        "status": "ringing",
        "customerPhone": "+2348012345678",
        "customerName": "Adaeze Okonkwo",
        "durationSeconds": None,
        "startedAt": None,
        "endedAt": None,
        "createdAt": T0.isoformat(),
    }
    data.update(changes)
    return types.Call.from_api(data)


@dataclass
class Case:
    rule: str  # the table's field (and why), as the test id
    listing: types.Call
    event: CallEvent
    expect: dict = field(default_factory=dict)


def event(type_: str, seconds: int, **changes) -> CallEvent:
    return CallEvent(call_id="call_rule", type=type_, at=at(seconds), **changes)


CASES = [
    Case(
        "status: an event ends a call the list still shows ringing",
        listed(status="ringing"),
        event("vox.call.completed", 60, duration_seconds=42),
        {"status": "completed", "status_at": at(60), "duration_seconds": 42, "ended_at": at(60)},
    ),
    Case(
        "status: a late vox.call.started never moves a listed terminal status back",
        listed(
            status="completed", startedAt=at(5).isoformat(), endedAt=at(50).isoformat(), durationSeconds=45
        ),
        event("vox.call.started", 5),
        {"status": "completed", "status_at": None, "started_at": at(5), "ended_at": at(50)},
    ),
    Case(
        "status: the list's busy replaces an event's in_progress (the list has no time for it)",
        listed(status="busy"),
        event("vox.call.started", 5),
        {"status": "busy", "status_at": None, "started_at": at(5)},
    ),
    Case(
        "status_at: an event with the list's own terminal status gives it its time",
        listed(status="completed", durationSeconds=30),
        event("vox.call.completed", 40),
        {"status": "completed", "status_at": at(40)},
    ),
    Case(
        "failure_reason: a winning vox.call.failed sets its reason, the list never writes one",
        listed(status="failed"),
        event("vox.call.failed", 20, reason="carrier_rejected"),
        {"status": "failed", "failure_reason": "carrier_rejected", "status_at": at(20)},
    ),
    Case(
        "duration_seconds: a null from the list never erases the event's duration",
        listed(status="completed", durationSeconds=None),
        event("vox.call.completed", 40, duration_seconds=31),
        {"duration_seconds": 31},
    ),
    Case(
        "duration_seconds: a stale list row (in_progress) writes no duration over a finished call",
        listed(status="in_progress", durationSeconds=3),
        event("vox.call.completed", 40, duration_seconds=31),
        {"status": "completed", "duration_seconds": 31},
    ),
    Case(
        "started_at: the list's time wins, an event only fills a gap",
        listed(status="in_progress", startedAt=at(4).isoformat()),
        event("vox.call.started", 4),
        {"started_at": at(4), "status": "in_progress"},
    ),
    Case(
        "ended_at: filled from vox.call.failed when the list has none",
        listed(status="no_answer"),
        event("vox.call.failed", 25, status="no_answer"),
        {"status": "no_answer", "ended_at": at(25)},
    ),
    Case(
        "recording_url: only events write it, never erased by the list",
        listed(status="completed", durationSeconds=30),
        event("vox.recording.ready", 70, recording_url="https://rec.example/r.wav"),
        {"recording_url": "https://rec.example/r.wav", "duration_seconds": 30},
    ),
    Case(
        "recording_url: a javascript: URL is never stored",
        listed(status="completed"),
        event("vox.recording.ready", 70, recording_url="javascript:alert(1)"),
        {"recording_url": ""},
    ),
    Case(
        "direction: an event fills it only when the mirror has none",
        listed(direction="inbound", status="in_progress"),
        event("vox.call.started", 5, direction="inbound"),
        {"direction": "inbound", "status_at": at(5)},
    ),
    Case(
        "business_id, customer_*, created_at, raw: the list's, whichever came first",
        listed(status="completed"),
        event("vox.call.completed", 40),
        {
            "customer_phone": "+2348012345678",
            "customer_name": "Adaeze Okonkwo",
            "created_at": T0,
            "business_id": "biz_1",
        },
    ),
    Case(
        "text is cut to its column's size on both paths",
        listed(status="failed", customerName="N" * 500),
        event("vox.call.failed", 40, reason="r" * 900),
        {"customer_name": "N" * 200, "failure_reason": "r" * 300},
    ),
]


def row() -> dict:
    return {name: getattr(Call.objects.get(vox_id="call_rule"), name) for name in RULES}


def list_then_event(case: Case) -> dict:
    call_merge_listing([case.listing])
    call_merge_event(case.event)
    return row()


def event_then_list(case: Case) -> dict:
    call_merge_event(case.event)
    call_merge_listing([case.listing])
    return row()


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_both_orders_give_the_same_row(case):
    first = list_then_event(case)
    Call.objects.all().delete()
    second = event_then_list(case)
    assert first == second
    assert {name: first[name] for name in case.expect} == case.expect


def test_live_statuses_that_disagree_are_the_one_order_that_matters():
    """Not a rule to keep but a fact to know: a list row read before a vox.call.started was applied
    and written after it moves in_progress back to ringing (between live statuses the list's word
    wins). The next incremental sync re-reads every call the mirror holds as live, so it heals."""
    case = Case("", listed(status="ringing"), event("vox.call.started", 5))
    assert list_then_event(case)["status"] == "in_progress"
    Call.objects.all().delete()
    assert event_then_list(case)["status"] == "ringing"


def test_every_field_of_the_table_is_walked():
    walked = {name for case in CASES for name in case.expect}
    assert set(RULES) - walked <= {"raw"}  # the raw payload is the list's, compared in every case


def test_the_list_alone_never_writes_what_only_events_know():
    call_merge_listing([listed(status="completed")])
    stored = row()
    never = [name for name, (listing, _) in RULES.items() if listing == "never"]
    assert never and all(stored[name] in ("", None) for name in never)
    assert RULES["recording_url"][LIST] == "never"


def test_an_unchanged_page_is_unchanged_after_an_event_only_it_cannot_know():
    call_merge_listing([listed(status="completed", durationSeconds=30)])
    call_merge_event(event("vox.recording.ready", 70, recording_url="https://rec.example/r.wav"))
    assert call_merge_listing([listed(status="completed", durationSeconds=30)]) == ["unchanged"]
