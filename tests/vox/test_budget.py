"""The shared request budget (voxdash.vox.budget) and the client's hook into it.

The rules run twice: on the Lua script against the real Redis on 127.0.0.1:6379 (a key prefix of
each test's own) and on the local log used without Redis, with a fake clock for both.
"""

import logging
import os
import time
import uuid

import pytest
import redis
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache

from tests.placements.submit import form_defaults, place, posts_to_vox
from voxdash.vox import VoxClient, errors, get_client, reset_client
from voxdash.vox.budget import (
    API,
    BACKGROUND,
    INTERACTIVE,
    PLACEMENT,
    CacheLog,
    FileLog,
    LocalLog,
    RequestBudget,
    budget_from_settings,
    redis_for_budget,
)

REDIS_URL = os.environ.get("VOXDASH_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def shared_redis():
    """The system Redis, and a key prefix no one else uses (deleted afterwards)."""
    client = redis_for_budget(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc})")
    prefix = f"voxdash-test:{uuid.uuid4().hex}:budget"
    yield client, prefix
    keys = list(client.scan_iter(f"*{prefix}*"))
    if keys:
        client.delete(*keys)


def builder(client, prefix, clock, local=None):
    def build(**kw):
        # No placement reserve unless a test asks: the rules of pages and background alone.
        options = {
            "per_minute": 10,
            "reserve": 3,
            "background_min": 2,
            "placement_reserve": 0,
            "api_reserve": 0,
            "margin": 0.0,
            **kw,
        }
        return RequestBudget(
            client, key_prefix=prefix, clock=clock, sleep=clock.sleep, local=local, **options
        )

    return build


def store(request, clock):
    if request.param == "redis":
        return builder(*request.getfixturevalue("shared_redis"), clock)
    if request.param == "file":
        return builder(None, "unused", clock, FileLog(request.getfixturevalue("tmp_path") / "budget.json"))
    if request.param == "cache":
        return builder(None, "unused", clock, CacheLog(cache))
    return builder(None, "unused", clock, LocalLog())


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "file", "cache", "memory"])
def make(request, clock):
    """Budgets on any store: the same rules must hold on each."""
    return store(request, clock)


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "file", "cache"])
def make_shared(request, clock):
    """Budgets sharing one log (Redis, or without it the file or the cache), like processes do."""
    return store(request, clock)


def settle(budget, clock):
    """Let the conservative start pass: one request, then a window of quiet."""
    budget.refund(budget.acquire(BACKGROUND))
    clock.now += budget.window + 1
    clock.slept.clear()


def take_all(budget, priority, limit=1000):
    tickets = []
    for _ in range(limit):
        try:
            tickets.append(budget.acquire(priority))
        except errors.VoxBudgetExhausted:
            return tickets
    raise AssertionError("the budget never ran out")


# --- the priority rules, on both stores
def test_interactive_leaves_the_background_share_then_is_refused(make, clock):
    budget = make()
    settle(budget, clock)
    assert len(take_all(budget, INTERACTIVE)) == 8  # 10 less the background's 2
    with pytest.raises(errors.VoxBudgetExhausted) as caught:
        budget.acquire(INTERACTIVE)
    assert isinstance(caught.value, errors.VoxRateLimited)  # views already handle these
    assert 0 < caught.value.retry_after <= budget.window
    assert budget.used() == 8
    assert clock.slept == []  # interactive never waits


def test_background_gets_its_share_however_busy_the_pages(make, clock):
    budget = make(background_wait=0)
    settle(budget, clock)
    take_all(budget, INTERACTIVE)
    assert len(take_all(budget, BACKGROUND)) == 2
    assert budget.used() == 10  # and never more than the whole budget


def test_background_leaves_the_reserve_to_interactive(make, clock):
    budget = make(background_wait=0)
    settle(budget, clock)
    assert len(take_all(budget, BACKGROUND)) == 7  # 10 less the pages' reserve of 3
    assert len(take_all(budget, INTERACTIVE)) == 3


def test_background_waits_for_a_token_instead_of_failing(make, clock):
    budget = make(background_wait=120)
    settle(budget, clock)
    for _ in range(7):
        budget.acquire(BACKGROUND)
    clock.now += 10
    budget.acquire(BACKGROUND)  # waits exactly until the oldest request leaves the window
    assert sum(clock.slept) == pytest.approx(50, abs=0.01)


def test_background_gives_up_after_its_wait(make, clock):
    budget = make(background_wait=5)
    settle(budget, clock)
    take_all(budget, INTERACTIVE)
    take_all(budget, BACKGROUND)
    with pytest.raises(errors.VoxBudgetExhausted):
        budget.acquire(BACKGROUND)
    assert sum(clock.slept) <= 5


def test_saturating_pages_never_starve_the_sync(make, clock):
    # Pages ask ten times a second for five minutes; the sync asks once a second and never waits.
    budget = make(per_minute=60, reserve=10, background_min=12, background_wait=0)
    settle(budget, clock)
    start, admitted = clock.now, {INTERACTIVE: [], BACKGROUND: []}
    for step in range(3000):
        clock.now = start + step / 10
        for priority in (INTERACTIVE, BACKGROUND) if step % 10 == 0 else (INTERACTIVE,):
            try:
                admitted[priority].append(budget.acquire(priority).at)
            except errors.VoxBudgetExhausted:
                pass
    assert_never_over(admitted[INTERACTIVE] + admitted[BACKGROUND], 60, budget.window)
    for minute in range(1, 5):  # every full window after the first
        lo = start + minute * 60
        assert sum(lo <= t < lo + 60 for t in admitted[BACKGROUND]) >= 12
    assert len(admitted[INTERACTIVE]) >= 4 * 48  # the pages still get everything else


def assert_never_over(times, limit, window):
    times = sorted(times)
    for i, t in enumerate(times):
        inside = sum(1 for u in times[i : i + limit + 1] if u < t + window)
        assert inside <= limit, f"{inside} requests in the {window} s from t={t}"


def test_the_issues_counter_example_never_exceeds_a_true_minute(make, clock):
    # 60 at t=9.9 s, 60 at t=10.1 s, then one every 10 ms from t=60 s: the old slot counter
    # admitted 155 inside one true 60 s window.
    budget = make(per_minute=120, reserve=0, background_min=0, margin=0.0)
    settle(budget, clock)
    start, admitted = clock.now, []

    def ask(at):
        clock.now = start + at
        try:
            admitted.append(budget.acquire(INTERACTIVE).at)
        except errors.VoxBudgetExhausted:
            pass

    for at in [9.9] * 60 + [10.1] * 60 + [60 + i / 100 for i in range(4000)]:
        ask(at)
    assert_never_over(admitted, 120, 60.0)
    assert len(admitted) >= 120 + 110  # and the minute does reopen once the bursts leave it


def test_refund_removes_exactly_that_entry(make, clock):
    budget = make()
    settle(budget, clock)
    tickets = take_all(budget, INTERACTIVE)
    clock.now += 30
    budget.refund(tickets[3])
    budget.refund(tickets[3])  # twice is once
    assert budget.used() == 7
    budget.acquire(INTERACTIVE)
    with pytest.raises(errors.VoxBudgetExhausted) as caught:
        budget.acquire(INTERACTIVE)
    # the oldest of the remaining entries leaves first: the refunded one is really gone
    assert caught.value.retry_after == pytest.approx(30, abs=0.01)


# --- placing a call: the pages' allowance plus a reserve the pages never touch
def test_a_placement_is_admitted_when_pages_have_spent_their_allowance(make, clock):
    budget = make(placement_reserve=2, background_wait=0)
    settle(budget, clock)
    assert len(take_all(budget, INTERACTIVE)) == 6  # 10 less background's 2 and the placements' 2
    placed = take_all(budget, PLACEMENT)
    assert len(placed) == 2
    assert clock.slept == []  # a placement answers someone waiting: it never waits either
    with pytest.raises(errors.VoxBudgetExhausted):
        budget.acquire(INTERACTIVE)  # still refused: the reserve is not theirs
    assert len(take_all(budget, BACKGROUND)) == 2  # and the sync keeps its share
    assert budget.used() == 10
    budget.refund(placed[0])  # a placement's token given back is one placement's again
    assert budget.used() == 9
    with pytest.raises(errors.VoxBudgetExhausted):
        budget.acquire(INTERACTIVE)
    budget.acquire(PLACEMENT)


def test_pages_never_use_the_placement_reserve(make, clock):
    budget = make(placement_reserve=2)
    settle(budget, clock)
    budget.acquire(PLACEMENT)  # placing first uses the pages' allowance ...
    assert len(take_all(budget, INTERACTIVE)) == 5
    assert len(take_all(budget, PLACEMENT)) == 2  # ... and the reserve is still whole
    clock.now += budget.window + 1
    assert len(take_all(budget, INTERACTIVE)) == 6  # nobody placing: pages still stop short
    assert (budget.allowance(INTERACTIVE), budget.allowance(PLACEMENT)) == (6, 8)


def test_placements_alone_may_use_the_pages_allowance_and_the_reserve(make, clock):
    budget = make(placement_reserve=2, background_wait=0)
    settle(budget, clock)
    assert len(take_all(budget, PLACEMENT)) == 8  # everything but the background's share
    assert len(take_all(budget, INTERACTIVE)) == 0
    assert len(take_all(budget, BACKGROUND)) == 2
    assert budget.used() == 10


def test_under_saturating_pages_every_placement_goes_through(make, clock):
    # Pages ask ten times a second for five minutes, the sync once a second, and a caller places
    # a call every 10 s (6 a minute: the reserve). Before the reserve, pages spent the minute first
    # and placing was refused about half the time.
    budget = make(per_minute=60, reserve=10, background_min=12, placement_reserve=6, background_wait=0)
    settle(budget, clock)
    start, admitted = clock.now, {p: [] for p in (INTERACTIVE, BACKGROUND, PLACEMENT)}
    refused = {p: 0 for p in admitted}
    for step in range(3000):
        clock.now = start + step / 10
        asking = [INTERACTIVE] + [BACKGROUND] * (step % 10 == 0) + [PLACEMENT] * (step % 100 == 5)
        for priority in asking:
            try:
                admitted[priority].append(budget.acquire(priority).at)
            except errors.VoxBudgetExhausted:
                refused[priority] += 1
    assert refused[PLACEMENT] == 0 and len(admitted[PLACEMENT]) == 30
    assert refused[INTERACTIVE] > 1000  # the pages really were saturating
    assert_never_over(admitted[INTERACTIVE], 60 - 12 - 6, budget.window)  # never in the reserve
    assert_never_over([t for times in admitted.values() for t in times], 60, budget.window)
    for minute in range(1, 5):  # every full window after the first
        lo = start + minute * 60
        assert sum(lo <= t < lo + 60 for t in admitted[BACKGROUND]) >= 12


def test_the_api_stops_short_of_the_pages_last_requests(make, clock):
    # 10 a minute: background 2, placements' reserve 1, pages 7 of which the API may use 4.
    budget = make(placement_reserve=1, api_reserve=3, background_wait=0)
    settle(budget, clock)
    assert [budget.allowance(p) for p in (INTERACTIVE, API, PLACEMENT)] == [7, 4, 8]
    api = take_all(budget, API)
    assert len(api) == 4
    assert clock.slept == []  # it answers another system waiting: it never waits
    pages = take_all(budget, INTERACTIVE)
    assert len(pages) == 3  # the pages' last 3 were never the API's
    assert budget.used() == 7
    budget.refund(api[0])  # an API token given back frees the pages' log (where it was written)
    assert budget.used() == 6
    with pytest.raises(errors.VoxBudgetExhausted):
        budget.acquire(API)  # the pages' 3 count against the API as its own did
    budget.acquire(INTERACTIVE)
    assert len(take_all(budget, PLACEMENT)) == 1 and len(take_all(budget, BACKGROUND)) == 2
    assert budget.used() == 10


def test_pages_count_against_the_api_as_their_own(make, clock):
    budget = make(api_reserve=3)
    settle(budget, clock)
    assert len(take_all(budget, INTERACTIVE)) == 8
    with pytest.raises(errors.VoxBudgetExhausted) as caught:
        budget.acquire(API)  # busy pages leave the API nothing
    assert "for api requests" in str(caught.value)
    clock.now += budget.window + 1
    assert len(take_all(budget, API)) == 5  # 8 less the pages' 3
    assert len(take_all(budget, INTERACTIVE)) == 3


def test_under_a_busy_integration_pages_keep_their_share(make, clock):
    # Another system asks ten times a second for five minutes; a person opens a page every 5 s
    # (12 a minute: within the pages' reserve for themselves). No page is refused.
    budget = make(per_minute=60, reserve=10, background_min=12, placement_reserve=6, api_reserve=12)
    settle(budget, clock)
    start, admitted, refused = clock.now, {API: [], INTERACTIVE: []}, {API: 0, INTERACTIVE: 0}
    for step in range(3000):
        clock.now = start + step / 10
        for priority in [API] + [INTERACTIVE] * (step % 50 == 3):
            try:
                admitted[priority].append(budget.acquire(priority).at)
            except errors.VoxBudgetExhausted:
                refused[priority] += 1
    assert refused[INTERACTIVE] == 0 and len(admitted[INTERACTIVE]) == 60
    assert refused[API] > 1000  # the integration really was saturating
    assert_never_over(admitted[API], 60 - 12 - 6 - 12, budget.window)


def test_the_api_keeps_one_request_when_its_reserve_does_not_fit():
    budget = RequestBudget(None, per_minute=10, background_min=3, placement_reserve=2, api_reserve=50)
    assert [budget.allowance(p) for p in (INTERACTIVE, API)] == [5, 1]
    with pytest.raises(ValueError):
        budget.allowance("everything")


def test_shares_that_do_not_fit_are_clamped():
    # A placement reserve as large as the budget would leave the pages nothing: they keep one.
    budget = RequestBudget(None, per_minute=10, background_min=3, placement_reserve=50)
    assert (budget.allowance(INTERACTIVE), budget.allowance(PLACEMENT)) == (1, 7)
    budget = RequestBudget(None, per_minute=10, background_min=3, placement_reserve=-5)
    assert (budget.allowance(INTERACTIVE), budget.allowance(PLACEMENT)) == (7, 7)
    budget = RequestBudget(None, per_minute=1, background_min=5, placement_reserve=5)
    assert [budget.allowance(p) for p in (INTERACTIVE, PLACEMENT, BACKGROUND)] == [1, 1, 1]


def test_budgets_share_the_log_like_processes_do(make_shared, clock):
    web, worker = make_shared(), make_shared(background_wait=0)
    settle(web, clock)
    assert len(take_all(worker, BACKGROUND)) == 7
    assert len(take_all(web, INTERACTIVE)) == 3
    assert web.used() == worker.used() == 10


def test_pause_holds_every_budget_off(make_shared, clock):
    web, worker = make_shared(), make_shared(background_wait=0)
    settle(web, clock)
    worker.pause(20)
    web.pause(5)  # a shorter pause never cuts a longer one short
    with pytest.raises(errors.VoxBudgetExhausted) as caught:
        web.acquire(INTERACTIVE)
    assert caught.value.retry_after == pytest.approx(20, abs=0.01)
    clock.now += 20
    web.acquire(INTERACTIVE)


# --- the conservative start
@pytest.mark.redis
def test_a_log_that_vanished_ramps_up_over_a_window(shared_redis, clock):
    # Pages ask ten times a second; after the keys vanish (Redis restarted empty) the budget may
    # not hand out a full minute at once: the previous minute may have been spent already.
    budget = builder(*shared_redis, clock)(per_minute=120, reserve=0, background_min=0)
    settle(budget, clock)
    take_all(budget, INTERACTIVE)
    client, prefix = shared_redis
    client.delete(*client.scan_iter(f"*{prefix}*"))
    start, admitted = clock.now, []
    for step in range(1200):
        clock.now = start + step / 10
        try:
            admitted.append(budget.acquire(INTERACTIVE).at - start)
        except errors.VoxBudgetExhausted:
            pass
    assert sum(t < 15 for t in admitted) <= 120 * 15 / 60 + 1  # a quarter of the window: a quarter
    assert sum(t < 30 for t in admitted) <= 120 * 30 / 60 + 1
    assert 110 <= sum(t < 60 for t in admitted) <= 120  # and all of it by the end of the window
    assert_never_over(admitted, 120, 60.0)


@pytest.mark.redis
def test_the_very_first_request_is_admitted(shared_redis, clock):
    # Ramping must not turn a fresh install's first page into a "budget spent" banner.
    budget = builder(*shared_redis, clock)(per_minute=120)
    budget.acquire(INTERACTIVE)
    budget.acquire(BACKGROUND)


# --- Redis down (own_redis: tests/fixtures/redis_server.py)
@pytest.mark.redis
def test_redis_down_falls_back_to_a_small_local_budget(own_redis, caplog):
    clock = Clock(time.time())
    budget = RequestBudget(
        redis_for_budget(own_redis.url),
        per_minute=80,
        reserve=0,
        background_min=8,
        placement_reserve=8,
        local_per_minute=10,
        redis_retry_seconds=0.3,
        background_wait=0,
        clock=clock,
    )
    budget.acquire(INTERACTIVE)
    assert budget.used() == 1
    own_redis.kill()
    caplog.set_level(logging.WARNING, logger="voxdash.vox.budget")
    started = time.monotonic()
    # Never a Redis error: the local log answers. What the other processes sent in the last
    # minute is unknown now, so it starts as the shared log does after losing its state: one,
    # then more as that minute passes (the load benchmark saw 137 in a minute and 17 x 429 when
    # every process took its full local share at once).
    first = take_all(budget, INTERACTIVE)
    assert len(first) == 1
    clock.now += budget.window / 2
    assert len(take_all(budget, INTERACTIVE)) == 3  # half of the pages' 8, less the one above
    clock.now += budget.window + 1  # a window on: those have left it, and the ramp is over
    admitted = take_all(budget, INTERACTIVE)
    assert len(admitted) == 8  # 10 a minute in this process, less background's and placing's 1 each
    budget.refund(admitted[0])
    assert budget.used() == 7
    time.sleep(0.4)  # Redis is asked again now and then, still dead: no second warning
    assert len(take_all(budget, INTERACTIVE)) == 1  # the refunded one
    assert len(take_all(budget, PLACEMENT)) == 1
    assert len(take_all(budget, BACKGROUND)) == 1
    assert time.monotonic() - started < 5  # a dead Redis fails fast
    warnings = [r for r in caplog.records if r.name == "voxdash.vox.budget"]
    assert len(warnings) == 1 and "not answering" in warnings[0].getMessage()

    own_redis.start()  # back, and empty
    time.sleep(0.4)
    budget.acquire(INTERACTIVE)
    # counted in Redis again, with what was sent during the outage (Vox saw those too)
    shared = redis.Redis.from_url(own_redis.url)
    assert shared.zcard("voxdash:vox:budget:interactive") == 8 + 1
    assert shared.zcard("voxdash:vox:budget:place") == 1
    assert shared.zcard("voxdash:vox:budget:background") == 1
    assert budget.used() == 11
    assert "answers again" in caplog.records[-1].getMessage()


@pytest.mark.redis
def test_the_client_keeps_answering_while_the_caches_redis_is_down(vox_settings, own_redis, simulator):
    vox_settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": own_redis.url}
    }
    reset_client()
    client = get_client()
    client.health()
    own_redis.kill()
    before = simulator.stats()["requests"]["/v1/vox/health"]
    answered = 0
    for _ in range(3):
        # No Redis error reaches the page: Vox answers, or the local budget (ramping up after the
        # outage began) says it is spent, which pages show as a banner over the mirror.
        try:
            answered += client.health().environment == "test"
        except errors.VoxBudgetExhausted:
            pass
    assert answered >= 1
    assert simulator.stats()["requests"]["/v1/vox/health"] == before + answered


# --- the one factory
def test_settings_build_it_and_zero_turns_it_off(settings):
    settings.VOX_REQUESTS_PER_MINUTE = 120
    settings.VOX_SYNC_RESERVE_PER_MINUTE = 30
    settings.VOX_BACKGROUND_MIN_PER_MINUTE = 20
    settings.VOX_PLACEMENT_RESERVE_PER_MINUTE = 10
    budget = budget_from_settings()
    assert budget.redis is None  # the tests' locmem cache: a log kept in it
    budget.acquire(INTERACTIVE)
    assert budget_from_settings().used() == 1  # a new client's budget still counts this process's
    allowances = [budget.allowance(p) for p in (INTERACTIVE, PLACEMENT, BACKGROUND)]
    assert allowances == [90, 100, 90]
    settings.VOX_PLACEMENT_RESERVE_PER_MINUTE = 500  # clamped like the other shares: pages keep one
    assert budget_from_settings().allowance(INTERACTIVE) == 1
    settings.VOX_REQUESTS_PER_MINUTE = 0
    assert budget_from_settings() is None


class ProjectRedisCache(RedisCache):
    """The project may wrap Django's Redis cache (voxdash.lib.cache does): still Redis."""


def test_settings_share_the_budget_through_the_caches_redis(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "tests.vox.test_budget.ProjectRedisCache",
            "LOCATION": "redis://127.0.0.1:6399/3,redis://127.0.0.1:6398/3",
        }
    }
    settings.VOX_BUDGET_LOCAL_PER_MINUTE = 12
    budget = budget_from_settings()
    kwargs = budget.redis.connection_pool.connection_kwargs
    assert (kwargs["port"], kwargs["db"], kwargs["socket_timeout"]) == (6399, 3, 0.5)  # the first one
    assert budget.local_limits.per_minute == 12


def test_settings_share_the_budget_through_a_file_beside_the_file_cache(settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    web, worker = budget_from_settings(), budget_from_settings()
    web.acquire(INTERACTIVE)
    worker.acquire(BACKGROUND)
    assert web.used() == worker.used() == 2
    assert (tmp_path / "cache" / "vox-budget.json").exists()


# --- the client's hook
def test_every_request_takes_a_token_at_the_client_priority(simulator):
    taken = []

    class Recorder:
        def acquire(self, priority):
            taken.append(priority)

    from vox_simulator import keys

    client = VoxClient(simulator.base_url, keys.DEMO_KEY, budget=Recorder())
    client.health()
    background = client.using(BACKGROUND)
    background.list_calls()
    client.using(PLACEMENT).list_numbers()
    assert taken == [INTERACTIVE, BACKGROUND, PLACEMENT]
    assert background._http is client._http and client.priority == INTERACTIVE
    with pytest.raises(ValueError):
        client.using("urgent")


def test_retries_take_a_token_each(simulator):
    from vox_simulator import keys

    taken = []
    client = VoxClient(
        simulator.base_url,
        keys.DEMO_KEY,
        sleep=lambda s: None,
        budget=type("B", (), {"acquire": lambda self, p: taken.append(p)})(),
    )
    simulator.faults.queue(503, count=2)
    client.health()
    assert len(taken) == 3  # Vox counts every attempt against the key


def test_a_spent_budget_raises_before_anything_is_sent(vox_settings, simulator):
    vox_settings.VOX_REQUESTS_PER_MINUTE = 3
    vox_settings.VOX_BACKGROUND_MIN_PER_MINUTE = 1
    vox_settings.VOX_PLACEMENT_RESERVE_PER_MINUTE = 0
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
    from vox_simulator import keys

    client = VoxClient(simulator.base_url, keys.DEMO_KEY)
    assert client.budget is None and client.health().environment == "test"


# --- placing a call through the form spends the placement priority
def test_a_caller_places_a_call_while_the_pages_have_spent_the_budget(
    client, caller, vox_settings, simulator
):
    # The load benchmark's finding: under page load, placing got the "budget spent" banner on
    # 6 of 12 tries. The form's pickers are shown from the cache; only the POST asks Vox.
    client.force_login(caller)
    data = form_defaults(client)
    vox_settings.VOX_REQUESTS_PER_MINUTE = 10
    vox_settings.VOX_BACKGROUND_MIN_PER_MINUTE = 2
    vox_settings.VOX_PLACEMENT_RESERVE_PER_MINUTE = 2
    reset_client()
    with pytest.raises(errors.VoxBudgetExhausted):
        for _ in range(10):
            get_client().health()  # the pages spend all theirs
    response = place(client, data)
    assert response.status_code == 302 and "/calls/placed/" in response["Location"]
    assert posts_to_vox(simulator) == 1
    with pytest.raises(errors.VoxBudgetExhausted):
        get_client().health()  # and the pages still may not touch the rest of the reserve
