"""A fixed set of mirrored calls, with figures worked out by hand in the tests that use it.

Times are local to Africa/Lagos (UTC+1, no daylight saving), so a call at 00:30 local on
21 Nov is stored as 23:30 UTC on 20 Nov: day and hour grouping must happen in TIME_ZONE.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from voxdash.calls.models import Call
from voxdash.mirror.rollup import rollup_rebuild

TZ = "Africa/Lagos"
FIRST_DAY, LAST_DAY = date(2026, 11, 20), date(2026, 11, 22)

# (vox id, local "MM-DD HH:MM", status, direction, duration or None, started?)
ROWS = [
    ("c01", "11-20 08:30", "completed", "inbound", 30, True),
    ("c02", "11-20 08:45", "completed", "outbound", 90, True),
    ("c03", "11-20 09:10", "failed", "outbound", None, False),
    ("c04", "11-21 00:30", "no_answer", "inbound", None, False),
    ("c05", "11-21 14:00", "completed", "inbound", 300, True),
    ("c06", "11-21 14:20", "busy", "outbound", None, False),
    ("c07", "11-21 14:40", "completed", "outbound", 45, True),
    ("c08", "11-22 10:00", "failed", "inbound", 12, True),  # answered, then dropped
    ("c09", "11-22 10:05", "in_progress", "inbound", None, True),
    ("c10", "11-22 23:59", "completed", "inbound", 600, True),
    # Outside the period, by a minute each side.
    ("x01", "11-19 23:59", "completed", "inbound", 60, True),
    ("x02", "11-23 00:00", "failed", "outbound", None, False),
]
IN_PERIOD = [row[0] for row in ROWS if not row[0].startswith("x")]


def local(when: str) -> datetime:
    return datetime.strptime(f"2026-{when}", "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(TZ))


def make_calls() -> list[Call]:
    calls = []
    for n, (vox_id, when, status, direction, duration, started) in enumerate(ROWS):
        created = local(when)
        calls.append(
            Call(
                vox_id=vox_id,
                direction=direction,
                status=status,
                customer_phone=f"+23480300000{n:02}",
                customer_name=f"Customer {vox_id}",
                duration_seconds=duration,
                created_at=created,
                started_at=created if started else None,
            )
        )
    made = Call.objects.bulk_create(calls)
    # Written as a fixture, not through the mirror's writers: count them into the stats rollup as
    # the command does after a bulk load.
    rollup_rebuild()
    return made


def place(vox_id: str, *, agent: str, number: str, username: str = "cal"):
    """A placement through voxdash that became the listed call `vox_id`."""
    from voxdash.placements.models import PlacedCall

    payload = {
        "customer_phone": "+2348030000000",
        "purpose": "test",
        "context": "test",
        "ai_agent_id": agent,
        "business_voice_number_id": number,
    }
    return PlacedCall.objects.create(
        username=username,
        payload=payload,
        payload_fingerprint=vox_id,
        customer_phone="+2348030000000",
        outcome=PlacedCall.Outcome.QUEUED,
        vox_placement_id=vox_id,
        listed_call_id=vox_id,
    )
