"""Two writers telling one new call at once (its webhook and a sync page, each after its own
commit) tell it once: the CallSeen row is made before the lock, so the second waits and finds it
told. PostgreSQL only (SQLite has one writer at a time, so the race cannot happen there)."""

import pytest
from django.db import connection
from django.utils import timezone

from tests.fixtures.concurrency import at_once
from voxdash.calls.models import Call
from voxdash.subscriptions.models import CALL_STATUS_CHANGED, Event, Subscription
from voxdash.subscriptions.receivers import call_changes_emit

pytestmark = pytest.mark.postgres


def test_two_writers_telling_one_new_call_at_once_tell_it_once(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://… (scripts/test-postgres does)")
    Subscription.objects.create(name="CRM", url="http://127.0.0.1:9/", event_types=[CALL_STATUS_CHANGED])
    for n in range(20):  # twenty rounds: one would pass by luck of the scheduler
        vox_id = f"call_race{n}"
        Call.objects.create(
            vox_id=vox_id, direction="outbound", status="completed", customer_phone="+2348012345678",
            created_at=timezone.now(),
        )  # fmt: skip
        made = at_once(lambda vox_id=vox_id: call_changes_emit(vox_ids=[vox_id]))
        assert sorted(made) == [0, 1], made
    assert Event.objects.count() == 20
