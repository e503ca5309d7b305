"""The client under a web request's deadline (voxdash.vox.deadline), against the simulator over real
HTTP: time spent means nothing sent and no token taken; each attempt fits the time left; retries
only while it allows; background work (no deadline) keeps its timeouts and retries. And a request
that never left the machine gives its budget token back."""

import socket
import threading
import time
import uuid

import pytest

from vox_simulator import keys
from voxdash.vox import VoxClient, deadline, errors
from voxdash.vox.budget import budget_from_settings

from .test_client import CALLS, HEALTH, call_request, hits

# Generous: two shared cores, other developers' suites running beside ours.
MARGIN = 1.0


class CountingBudget:
    """The real budget, counting what the client takes and gives back."""

    def __init__(self, inner):
        self.inner = inner
        self.taken: list = []
        self.refunded: list = []

    def acquire(self, priority):
        ticket = self.inner.acquire(priority)
        self.taken.append(ticket)
        return ticket

    def refund(self, ticket):
        self.refunded.append(ticket)
        self.inner.refund(ticket)


@pytest.fixture
def budget(settings):
    settings.VOX_REQUESTS_PER_MINUTE = 3  # small: spending it shows at once, all of it the pages'
    settings.VOX_SYNC_RESERVE_PER_MINUTE = settings.VOX_BACKGROUND_MIN_PER_MINUTE = 0
    return CountingBudget(budget_from_settings())


@pytest.fixture
def make_client(simulator):
    made = []

    def make(base_url=None, **kwargs):
        kwargs.setdefault("sleep", time.sleep)
        client = VoxClient(base_url or simulator.base_url, keys.DEMO_KEY, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def closed_port() -> int:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener now
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_spent_deadline_sends_nothing_and_takes_no_token(make_client, simulator, budget):
    simulator.faults.latency_ms = 3000
    client = make_client(read_timeout=10, budget=budget)
    started = time.monotonic()
    with deadline.within(0.5):
        with pytest.raises(errors.VoxTimeout):
            client.list_calls()  # uses up the page's time
        with pytest.raises(errors.VoxTimeout) as info:
            client.health()  # the header's check: nothing left, so not sent
    assert time.monotonic() - started < 0.5 + MARGIN
    assert "not sent" in str(info.value)
    assert hits(simulator, "GET", CALLS) == 1 and hits(simulator, "GET", HEALTH) == 0
    assert len(budget.taken) == 1


def test_an_attempt_is_cut_to_the_time_left(make_client, simulator):
    simulator.faults.latency_ms = 3000
    client = make_client(read_timeout=10, max_retries=3)
    started = time.monotonic()
    with deadline.within(0.6), pytest.raises(errors.VoxTimeout):
        client.health()
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 0.6 + MARGIN  # not the 10 s read timeout, nor four of them
    assert hits(simulator, "GET", HEALTH) == 1  # no time was left for a retry


def test_retries_only_while_the_deadline_allows(make_client, simulator, monkeypatch):
    monkeypatch.setattr("voxdash.vox.client.random.uniform", lambda low, high: high)  # no jitter
    client = make_client(max_retries=3, backoff_base=0.4, backoff_cap=0.4)
    simulator.faults.queue(503, count=20, path=HEALTH)
    with deadline.within(0.7), pytest.raises(errors.VoxUnavailable):
        client.health()
    # 503, wait 0.4, 503 with about 0.3 s left: another wait of 0.4 would pass the deadline.
    assert hits(simulator, "GET", HEALTH) == 2

    simulator.faults.clear()
    simulator.faults.queue(429, retry_after=2, path=HEALTH)
    with deadline.within(1.0), pytest.raises(errors.VoxRateLimited) as info:
        client.health()  # waiting out Retry-After would pass the deadline: the banner says 2 s
    assert info.value.retry_after == 2
    assert hits(simulator, "GET", HEALTH) == 3


def test_background_work_keeps_its_timeouts_and_retries(make_client, simulator, monkeypatch):
    monkeypatch.setattr("voxdash.vox.client.random.uniform", lambda low, high: 0.0)
    client = make_client(read_timeout=5, max_retries=3)
    simulator.faults.queue(503, count=3, path=HEALTH)
    assert client.health()  # no deadline open: every retry is made
    assert hits(simulator, "GET", HEALTH) == 4

    simulator.faults.latency_ms = 800
    with deadline.within(0.3), pytest.raises(errors.VoxTimeout):
        client.health()
    assert client.health().environment == "test"  # the same client, outside the page: full read timeout


def test_a_deadline_belongs_to_its_own_thread(make_client, simulator):
    client = make_client()
    seen = {}
    with deadline.within(0.01):
        time.sleep(0.05)
        # Another request's thread (gthread workers, the dev server) is not this page's business.
        other = threading.Thread(target=lambda: seen.setdefault("health", client.health()))
        other.start()
        other.join()
        with pytest.raises(errors.VoxTimeout):
            client.health()
    assert seen["health"].environment == "test"
    assert deadline.remaining() is None
    assert hits(simulator, "GET", HEALTH) == 1


def test_nested_deadlines_keep_the_earlier_one():
    with deadline.within(0.5):
        with deadline.within(30):
            assert deadline.remaining() <= 0.5
        with deadline.within(0.1):
            assert deadline.remaining() <= 0.1
        assert 0.1 < deadline.remaining() <= 0.5
    with deadline.within(0):  # off
        assert deadline.remaining() is None


def test_refused_connections_give_their_tokens_back(make_client, budget):
    client = make_client(
        f"http://127.0.0.1:{closed_port()}", max_retries=2, sleep=lambda s: None, budget=budget
    )
    for _ in range(5):  # 15 attempts against a budget of 3 a minute
        with pytest.raises(errors.VoxConnectionError) as info:
            client.health()
        # Vox is unreachable, and that is what the page must say, not "the budget is spent".
        assert not isinstance(info.value, errors.VoxBudgetExhausted)
    assert len(budget.taken) == 15 and budget.refunded == budget.taken


def test_a_connect_timeout_gives_its_token_back(make_client, budget):
    # A listener whose accept queue is full: the kernel drops further connection attempts, so
    # connecting times out (as with a firewalled host) without anything reaching a server.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            client = make_client(
                f"http://127.0.0.1:{port}", connect_timeout=0.2, max_retries=0, budget=budget
            )
            for _ in range(4):  # more than the budget of 3
                with pytest.raises(errors.VoxTimeout):
                    client.health()
        finally:
            for filler in fillers:
                filler.close()
    assert len(budget.taken) == 4 and budget.refunded == budget.taken


def test_a_request_that_reached_vox_keeps_its_token(make_client, simulator, budget):
    simulator.faults.latency_ms = 1000
    client = make_client(read_timeout=0.2, max_retries=0, budget=budget)
    with pytest.raises(errors.VoxTimeout):
        client.health()  # sent, and Vox counted it, even though the answer came too late
    assert len(budget.taken) == 1 and budget.refunded == []


def test_placing_under_a_deadline_stays_exactly_once(make_client, simulator):
    client = make_client()
    request, key = call_request(client), str(uuid.uuid4())
    # A lost response is retried within the page's time, with the same key: a replay, not a dial.
    simulator.faults.lose_response_next()
    with deadline.within(3):
        placed = client.place_call(request, idempotency_key=key)
    assert placed.replayed is True and simulator.stats()["dialed"] == 1

    # A slow answer: the page gives up (outcome unknown); pressing again with the same key later
    # gets the original call back.
    other, second_key = call_request(client, phone="+2348031234561"), str(uuid.uuid4())
    simulator.faults.latency_ms = 1200
    with deadline.within(0.4), pytest.raises(errors.VoxTimeout):
        client.place_call(other, idempotency_key=second_key)
    time.sleep(1.2)  # the simulator finishes the slow POST (it dials once)
    simulator.faults.latency_ms = 0
    with deadline.within(3):
        again = client.place_call(other, idempotency_key=second_key)
    assert again.replayed is True and simulator.stats()["dialed"] == 2


def test_a_429_from_vox_holds_every_process_off_for_its_retry_after(make_client, simulator, settings):
    # Another system spends the key: Vox answers 429 with Retry-After. A second client on the same
    # shared budget (another gunicorn worker) must not send anything until that time has passed.
    settings.VOX_REQUESTS_PER_MINUTE = 120
    simulator.faults.queue(429, retry_after=30, path=CALLS)
    first = make_client(budget=budget_from_settings(), max_retries=0)
    second = make_client(budget=budget_from_settings(), max_retries=0)
    with pytest.raises(errors.VoxRateLimited):
        first.list_calls()
    with pytest.raises(errors.VoxBudgetExhausted) as info:
        second.health()
    assert hits(simulator, "GET", HEALTH) == 0
    assert info.value.retry_after == pytest.approx(30, abs=2)
