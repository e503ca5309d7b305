"""Fixtures shared by the alert tests: a channel to notify, one rule alone, and frozen time.

The built-in rules exist in every test database (the migration makes them, all on); a test of one
rule turns the others off with `only_rule`, so a rule it is not about cannot add notices.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine


@pytest.fixture
def channel(db, tmp_path):
    """One enabled channel for every rule (a local file): each notice is one AlertDelivery to it."""
    from voxdash.alerts.models import AlertChannel

    return AlertChannel.objects.create(
        name="ops file", kind=AlertChannel.Kind.FILE, url=f"file://{tmp_path / 'alerts.log'}"
    )


@pytest.fixture
def only_rule(db):
    """only_rule(kind, **fields): that built-in rule, with these fields, and every other rule off."""
    from voxdash.alerts.builtin import BUILTIN_RULES
    from voxdash.alerts.models import AlertRule

    def only(kind: str, **fields) -> AlertRule:
        AlertRule.objects.exclude(kind=kind).update(enabled=False)
        # (Made again when a transactional test before this one flushed what the migration made.)
        _, name, threshold, window, cooldown = next(r for r in BUILTIN_RULES if r[0] == kind)
        rule, _ = AlertRule.objects.get_or_create(
            kind=kind,
            builtin=True,
            defaults={
                "name": name,
                "threshold": threshold,
                "window_minutes": window,
                "cooldown_minutes": cooldown,
            },
        )
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.save()
        return rule

    return only


@pytest.fixture
def clock():
    """Time frozen at a whole minute three days from now (every call the simulator seeded is older),
    moved on with `clock.forward(minutes)`."""
    from tests.alerts.evaluating import Clock

    start = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        yield Clock(traveller)
