"""The shared request budget (voxdash.vox.budget) and the client's hook into it."""

import pytest
from django.core.cache import cache

from voxdash.vox import VoxClient, errors, get_client, reset_client
from voxdash.vox.budget import BACKGROUND, INTERACTIVE, RequestBudget, budget_from_settings


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds

    slept: list


@pytest.fixture
def clock():
    c = Clock()
    c.slept = []
    return c


def make(clock, **kw):
    return RequestBudget(cache, clock=clock, sleep=clock.sleep, **{"per_minute": 10, "reserve": 3, **kw})


def test_interactive_may_use_the_whole_minute_then_is_refused(clock):
    budget = make(clock)
    for _ in range(10):
        budget.acquire(INTERACTIVE)
    with pytest.raises(errors.VoxBudgetExhausted) as caught:
        budget.acquire(INTERACTIVE)
    assert isinstance(caught.value, errors.VoxRateLimited)  # views already handle these
    assert 0 < caught.value.retry_after <= 10
    assert budget.used() == 10  # the refused request gave its token back
    assert clock.slept == []  # interactive never waits


def test_background_leaves_the_reserve_to_interactive(clock):
    budget = make(clock, background_wait=0)
    for _ in range(7):
        budget.acquire(BACKGROUND)
    with pytest.raises(errors.VoxBudgetExhausted):
        budget.acquire(BACKGROUND)
    for _ in range(3):  # the reserve is still there for pages
        budget.acquire(INTERACTIVE)
    with pytest.raises(errors.VoxBudgetExhausted):
        budget.acquire(INTERACTIVE)


def test_background_waits_for_a_token_instead_of_failing(clock):
    budget = make(clock, background_wait=120)
    for _ in range(7):
        budget.acquire(BACKGROUND)
    budget.acquire(BACKGROUND)  # waits until old requests leave the window
    assert clock.slept and 50 <= sum(clock.slept) <= 70


def test_background_gives_up_after_its_wait(clock):
    budget = make(clock, background_wait=5)
    for _ in range(10):
        budget.acquire(INTERACTIVE)
    with pytest.raises(errors.VoxBudgetExhausted):
        budget.acquire(BACKGROUND)
    assert sum(clock.slept) <= 5


def test_the_window_slides(clock):
    budget = make(clock)
    for _ in range(10):
        budget.acquire(INTERACTIVE)
    clock.now += 30
    assert budget.try_take(INTERACTIVE) > 0  # still within the minute
    clock.now += 40  # a request leaves the count 60 to 70 s later (slots are 10 s)
    for _ in range(10):
        budget.acquire(INTERACTIVE)


def test_no_burst_across_a_minute_boundary(clock):
    # A fixed per-minute key would allow 10 at 0:59 and 10 more at 1:00.
    clock.now = 1_000_019.5  # just before a slot (and minute-ish) boundary
    budget = make(clock)
    for _ in range(10):
        budget.acquire(INTERACTIVE)
    clock.now += 1
    with pytest.raises(errors.VoxBudgetExhausted):
        budget.acquire(INTERACTIVE)


def test_budgets_share_the_cache_like_processes_do(clock):
    web, worker = make(clock), make(clock)
    for _ in range(7):
        worker.acquire(BACKGROUND)
    for _ in range(3):
        web.acquire(INTERACTIVE)
    with pytest.raises(errors.VoxBudgetExhausted):
        web.acquire(INTERACTIVE)


def test_settings_build_it_and_zero_turns_it_off(settings):
    settings.VOX_REQUESTS_PER_MINUTE = 120
    settings.VOX_SYNC_RESERVE_PER_MINUTE = 30
    budget = budget_from_settings()
    assert (budget.allowance(INTERACTIVE), budget.allowance(BACKGROUND)) == (120, 90)
    settings.VOX_REQUESTS_PER_MINUTE = 0
    assert budget_from_settings() is None


# --- the client's hook
def test_every_request_takes_a_token_at_the_client_priority(simulator):
    taken = []

    class Recorder:
        def acquire(self, priority):
            taken.append(priority)

    from voxdash.simulator import keys

    client = VoxClient(simulator.base_url, keys.DEMO_KEY, budget=Recorder())
    client.health()
    background = client.using(BACKGROUND)
    background.list_calls()
    assert taken == [INTERACTIVE, BACKGROUND]
    assert background._http is client._http and client.priority == INTERACTIVE
    with pytest.raises(ValueError):
        client.using("urgent")


def test_retries_take_a_token_each(simulator):
    from voxdash.simulator import keys

    taken = []
    client = VoxClient(
        simulator.base_url, keys.DEMO_KEY, sleep=lambda s: None,
        budget=type("B", (), {"acquire": lambda self, p: taken.append(p)})(),
    )
    simulator.faults.queue(503, count=2)
    client.health()
    assert len(taken) == 3  # Vox counts every attempt against the key


def test_a_spent_budget_raises_before_anything_is_sent(vox_settings, simulator):
    vox_settings.VOX_REQUESTS_PER_MINUTE = 2
    reset_client()
    client = get_client()
    client.health()
    client.health()
    before = simulator.stats()["requests"].get("/v1/vox/health", 0)
    with pytest.raises(errors.VoxBudgetExhausted) as caught:
        client.health()
    assert simulator.stats()["requests"].get("/v1/vox/health", 0) == before
    assert "budget" in caught.value.user_message and caught.value.hint


def test_client_without_a_budget_is_unchanged(simulator):
    from voxdash.simulator import keys

    client = VoxClient(simulator.base_url, keys.DEMO_KEY)
    assert client.budget is None and client.health().environment == "test"
