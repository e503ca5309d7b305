"""Migrating the placement record: every key gets its placement before the one-per-key constraint."""

import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("placements", "0001_initial")]
AFTER = [("placements", "0002_placement_and_repeats")]


@pytest.fixture
def back_to_latest():
    """The tests after this one expect every migration applied, as the test database began."""
    yield
    call_command("migrate", "placements", verbosity=0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_the_first_accepted_attempt_of_each_key_becomes_the_placement():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    PlacedCall = executor.loader.project_state(BEFORE).apps.get_model("placements", "PlacedCall")
    lost_first, settled = uuid.uuid4(), uuid.uuid4()
    # As the old rule recorded them: a lost first response left only replays; a settled key is untouched.
    history = [
        (lost_first, "unknown"),
        (lost_first, "replayed"),
        (lost_first, "replayed"),
        (settled, "queued"),
        (settled, "replayed"),
    ]
    for key, outcome in history:
        PlacedCall.objects.create(
            username="cal",
            idempotency_key=key,
            payload={},
            payload_fingerprint="f",
            customer_phone="+2348031234560",
            outcome=outcome,
        )
    executor = MigrationExecutor(connection)  # a fresh loader sees the graph as migrated so far
    executor.migrate(AFTER)
    PlacedCall = executor.loader.project_state(AFTER).apps.get_model("placements", "PlacedCall")
    for key, expected in [(lost_first, ["unknown", "queued", "replayed"]), (settled, ["queued", "replayed"])]:
        rows = PlacedCall.objects.filter(idempotency_key=key).order_by("attempted_at", "id")
        assert [r.outcome for r in rows] == expected
