"""The budget counts its refusals by minute (RequestBudget.refusals), for the "budget exhausted"
alert: on the real Redis, in the file and cache logs shared without it, and in memory; a refusal
that cannot be counted still reaches its caller as the refusal it is."""

import pytest

from tests.vox.test_budget import Clock, builder, settle, shared_redis, store  # noqa: F401 (a fixture)
from voxdash.vox import errors
from voxdash.vox.budget import (
    BACKGROUND,
    INTERACTIVE,
    PLACEMENT,
    REFUSALS_KEPT_MINUTES,
    LocalLog,
    RequestBudget,
    redis_for_budget,
)

# 12:00:30 on some day: minute boundaries are at multiples of 60.
START = 1_800_000_000.0 - 1_800_000_000.0 % 60 + 30


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "file", "cache", "memory"])
def make(request, clock):
    return store(request, clock)


def spend(budget, priority=INTERACTIVE) -> int:
    """Take tokens until the budget refuses (one refusal); how many it gave."""
    taken = 0
    while True:
        try:
            budget.acquire(priority)
        except errors.VoxBudgetExhausted:
            return taken
        taken += 1


def refuse(budget, times: int = 1, priority=INTERACTIVE) -> None:
    for _ in range(times):
        with pytest.raises(errors.VoxBudgetExhausted):
            budget.acquire(priority)


def test_each_refusal_counts_in_its_minute_and_the_minute_under_way_is_not_read(make, clock):
    budget = make(per_minute=6, reserve=0, background_min=0, window=600.0)  # spent for ten minutes
    assert spend(budget) >= 1  # (the conservative start admits fewer than six at first)
    refuse(budget, 2)
    assert budget.refusals(3) == [0, 0, 0]  # this minute is not over yet
    clock.now += 60
    refuse(budget, 1)
    clock.now += 60
    assert budget.refusals(3) == [0, 3, 1]  # oldest first
    assert budget.refusals(1) == [1]
    assert budget.refusals(0) == []
    clock.now += 120
    assert budget.refusals(4) == [3, 1, 0, 0]


def test_tokens_given_are_not_refusals_and_every_priority_counts(make, clock):
    budget = make(per_minute=10, reserve=3, background_min=2, placement_reserve=1, window=600.0)
    settle(budget, clock)  # past the conservative start: the full allowances
    spend(budget, PLACEMENT)  # pages' allowance and the reserve
    refuse(budget, 1, INTERACTIVE)
    refuse(budget, 1, PLACEMENT)
    budget.background_wait = 0.0  # background waits for its turn, then is refused too
    spend(budget, BACKGROUND)
    clock.now += 60
    assert budget.refusals(1) == [4]


def test_the_counts_are_shared_like_the_log(make_shared, clock):
    first = make_shared(per_minute=4, reserve=0, background_min=0, window=600.0)
    second = make_shared(per_minute=4, reserve=0, background_min=0, window=600.0)
    spend(first)
    refuse(second, 2)
    refuse(first, 1)
    clock.now += 60
    assert first.refusals(1) == second.refusals(1) == [4]


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "file", "cache"])
def make_shared(request, clock):
    return store(request, clock)


def test_counts_older_than_a_day_are_dropped(make, clock):
    budget = make(per_minute=2, reserve=0, background_min=0, window=10 * 86_400.0)
    spend(budget)
    refuse(budget, 1)
    clock.now += 60
    assert budget.refusals(1) == [2]
    clock.now += REFUSALS_KEPT_MINUTES * 60
    refuse(budget, 1)  # a new one prunes the local logs' old minutes (Redis expires its hours)
    clock.now += 60
    counts = budget.refusals(REFUSALS_KEPT_MINUTES + 2)
    assert len(counts) == REFUSALS_KEPT_MINUTES + 2 and counts[-1] == 1 and sum(counts) == 1


@pytest.mark.redis
def test_redis_keeps_one_hash_per_hour_with_its_minutes_and_an_expiry(shared_redis, clock):  # noqa: F811
    client, prefix = shared_redis
    budget = builder(client, prefix, clock)(per_minute=2, reserve=0, background_min=0, window=600.0)
    spend(budget)
    refuse(budget, 2)
    minute = int(clock.now // 60)
    key = f"{prefix}:refusals:{minute // 60}"
    assert client.hgetall(key) == {str(minute).encode(): b"3"}
    assert REFUSALS_KEPT_MINUTES * 60 < client.ttl(key) <= (REFUSALS_KEPT_MINUTES + 60) * 60


@pytest.mark.redis
def test_redis_down_the_refusal_is_still_a_refusal_and_counted_here(own_redis, clock):
    budget = RequestBudget(
        redis_for_budget(own_redis.url),
        per_minute=8,
        reserve=0,
        background_min=0,
        local_per_minute=1,
        redis_retry_seconds=60,
        clock=clock,
        sleep=clock.sleep,
        window=600.0,
    )
    own_redis.kill()
    budget.acquire()  # the local stopgap's one request a window
    refuse(budget, 2)
    clock.now += 60
    assert budget.refusals(1) == [2]  # from this process's log while Redis is away


class BrokenLog(LocalLog):
    def refusal_add(self, minute: int) -> None:
        raise OSError(28, "No space left on device")


def test_a_count_that_cannot_be_kept_never_changes_the_answer(clock, caplog):
    # Background refusals are counted apart from the take that refused them (after the wait).
    budget = RequestBudget(
        None, per_minute=2, reserve=0, background_min=1, background_wait=0.0, local=BrokenLog(), clock=clock
    )
    budget.acquire(BACKGROUND)
    budget.acquire(BACKGROUND)
    with pytest.raises(errors.VoxBudgetExhausted):
        budget.acquire(BACKGROUND)
    assert "could not be counted" in caplog.text
