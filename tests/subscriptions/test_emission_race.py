"""Two writers telling one new call at once (its webhook and a sync page, each after its own
commit) tell it once: the CallSeen row is made before the lock, so the second waits and finds it
told. PostgreSQL only (SQLite has one writer at a time, so the race cannot happen there)."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

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
        start, made, errors = threading.Barrier(2), [], []

        def tell(vox_id=vox_id, start=start, made=made, errors=errors):
            try:
                start.wait()
                made.append(call_changes_emit(vox_ids=[vox_id]))
            except Exception as exc:  # a deadlock or an integrity error would be a failure too
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=tell) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors and sorted(made) == [0, 1], (errors, made)
    assert Event.objects.count() == 20
