"""Redis killed under the pages: every page still answers, staff see why, and it heals by itself.

Real components: a redis-server of the test's own (tests/fixtures/redis_server.py), the simulator over
HTTP, the project's cache backend configured as production configures it (CACHE_URL).
"""

import logging
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.deploy.test_settings import production_settings
from tests.fixtures.redis_server import free_port
from voxdash.calls.models import Call
from voxdash.lib.cache import shared_cache_outage
from voxdash.lib.caching import forget_here
from voxdash.mirror.lock import SyncAlreadyRunning, sync_lock
from voxdash.vox import reset_client

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

BANNER = "The shared cache (Redis) is unreachable"
RECHECK = 1.0  # seconds the backend leaves Redis alone after a failure (production: a few seconds)
BACKEND = "voxdash.lib.cache.FallbackRedisCache"


def point_cache_at(settings, url: str, recheck: float = RECHECK) -> None:
    settings.CACHES = {
        "default": {"BACKEND": BACKEND, "LOCATION": url, "OPTIONS": {"RECHECK_AFTER": recheck}}
    }


@pytest.fixture
def shared_cache(vox_settings, own_redis):
    point_cache_at(vox_settings, own_redis.url)
    return own_redis


@pytest.fixture
def call(db):
    return Call.objects.create(
        vox_id="call_cache_down",
        direction="outbound",
        status="completed",
        customer_phone="+2348012345678",
        customer_name="Adaeze Okonkwo",
        duration_seconds=42,
        created_at=timezone.now() - timedelta(hours=1),
    )


@pytest.fixture
def staff(db):
    return User.objects.create_user("stan", password="pw-stan-123", is_staff=True)


def pages(call) -> dict[str, str]:
    return {
        "overview": reverse("overview"),
        "history": reverse("calls:list"),
        "call detail": reverse("calls:detail", args=[call.vox_id]),
        "numbers": reverse("directory:numbers"),
        "stats": reverse("stats:overview"),
        "webhook log": reverse("webhooks:log"),
        "placed calls": reverse("placements:list"),
    }


def load_all(client, urls: dict[str, str], expected: dict[str, int] | None = None) -> dict[str, str]:
    """Every page once; their bodies by name. Fails with the page's name on an unexpected status."""
    bodies = {}
    for name, url in urls.items():
        response = client.get(url)
        want = (expected or {}).get(name, 200)
        assert response.status_code == want, f"{name}: {response.status_code}"
        bodies[name] = response.content.decode()
    return bodies


def timed_rounds(client, urls: dict[str, str], rounds: int = 2) -> tuple[dict[str, str], dict[str, float]]:
    """Load every page `rounds` times; the last bodies and each page's mean ms over the rounds."""
    spent = dict.fromkeys(urls, 0.0)
    for _ in range(rounds):
        for name, url in urls.items():
            started = time.perf_counter()
            bodies = load_all(client, {name: url})
            spent[name] += (time.perf_counter() - started) * 1000
    return bodies, {name: ms / rounds for name, ms in spent.items()}


def test_pages_answer_with_redis_killed_and_staff_see_a_banner(client, shared_cache, staff, call, caplog):
    client.force_login(staff)
    urls = pages(call)
    up = load_all(client, urls)  # warm: Vox asked once, answers cached in Redis
    assert not any(BANNER in body for body in up.values())
    _, up_ms = timed_rounds(client, urls)

    shared_cache.kill()
    down: dict[str, str] = {}
    with caplog.at_level(logging.INFO, logger="voxdash.lib.cache"):
        load_all(client, urls)  # the first round pays for the failure and warms process memory
        for _ in range(2):  # then on the breaker, and once it lets a retry through (RECHECK)
            _, down_ms = timed_rounds(client, urls)
            down.update({name: client.get(url).content.decode() for name, url in urls.items()})
            time.sleep(RECHECK)
    for name, body in down.items():
        assert BANNER in body, name
    # Measured, not asserted (a shared machine): what a page costs with Redis down.
    print(
        "\nms per page, Redis up -> down: "
        + ", ".join(f"{name} {up_ms[name]:.1f} -> {down_ms[name]:.1f}" for name in urls)
    )
    # Once per outage, not once per call (the pages above made dozens of cache calls).
    warnings = [r for r in caplog.records if r.name == "voxdash.lib.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_viewers_see_nothing_new_with_redis_killed(client, shared_cache, viewer, call):
    client.force_login(viewer)
    urls = pages(call)
    shared_cache.kill()
    bodies = load_all(client, urls, expected={"webhook log": 403})  # staff only, as always
    assert not any(BANNER in body for body in bodies.values())


def test_login_page_and_sign_in_with_redis_killed(client, shared_cache, viewer):
    shared_cache.kill()
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert BANNER not in response.content.decode()
    response = client.post(reverse("login"), {"username": "vera", "password": "pw-vera-123"})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(viewer.pk)


def test_login_limit_still_limits_per_process_with_redis_killed(client, shared_cache, viewer, vox_settings):
    vox_settings.VOXDASH_LOGIN_ATTEMPTS = 3
    vox_settings.VOXDASH_LOGIN_WINDOW = 600
    shared_cache.kill()
    for _ in range(3):
        assert client.post(reverse("login"), {"username": "vera", "password": "nope"}).status_code == 200
    right = client.post(reverse("login"), {"username": "vera", "password": "pw-vera-123"})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_banner_goes_and_redis_is_used_again_after_it_returns(
    client, shared_cache, staff, call, caplog, vox_settings
):
    # The cache's recovery alone: the request budget, on the same Redis, ramps up after an outage
    # (tests/vox/test_budget.py) and would hold back the header's check that this test looks for.
    vox_settings.VOX_REQUESTS_PER_MINUTE = 0
    reset_client()
    client.force_login(staff)
    overview, placed = reverse("overview"), reverse("placements:list")
    shared_cache.kill()
    assert BANNER in client.get(overview).content.decode()
    assert BANNER in client.get(placed).content.decode()

    shared_cache.start()  # empty, on the same port
    time.sleep(RECHECK + 0.1)
    forget_here()  # the few seconds this process keeps the header's status itself are over too
    with caplog.at_level(logging.INFO, logger="voxdash.lib.cache"):
        # The first page after the interval already knows, even one that asks the cache nothing
        # before it renders: the banner's own check is the retry that was due.
        assert BANNER not in client.get(placed).content.decode()
        assert BANNER not in client.get(overview).content.decode()
    assert shared_cache_outage() is None
    # The cache is Redis's again: what the pages cache now lands there, not in process memory.
    assert any(b"voxdash:connection" in key for key in shared_cache.client().keys("*"))
    cache.set("voxdash:test:back", "yes", 30)
    assert shared_cache.client().exists(":1:voxdash:test:back")
    back = [r for r in caplog.records if r.name == "voxdash.lib.cache" and r.levelno == logging.INFO]
    assert len(back) == 1, [r.getMessage() for r in back]


def test_add_is_never_a_claim_while_redis_is_down_but_counters_still_count(shared_cache):
    shared_cache.kill()
    # No process can know whether another holds it, so nobody gets it: two syncs never run at once.
    assert cache.add("voxdash:test:claim", "mine", 60) is False
    with pytest.raises(SyncAlreadyRunning):
        with sync_lock("calls"):
            pass
    # add(key, 0) then incr() (the login limit, the refusal flood guard) counts in this process.
    cache.add("voxdash:test:count", 0, 60)
    assert [cache.incr("voxdash:test:count") for _ in range(3)] == [1, 2, 3]
    assert cache.get_many(["voxdash:test:count", "voxdash:test:nothing"]) == {"voxdash:test:count": 3}
    # allauth's rate-limit locks guard a history that is local now too: claimed locally, once.
    lock = "allauth:rl:allauth.account:login:30/60.0/ip:ip:127.0.0.1:lock"
    assert cache.add(lock, True, 10) is True and cache.add(lock, True, 10) is False


class SilentServer:
    """Accepts connections and never answers: a Redis that hangs (or a black-holed route)."""

    def __init__(self):
        self.port = free_port()
        self.accepted = 0
        self._sock = socket.create_server(("127.0.0.1", self.port))
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def close(self) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()


def test_a_hung_redis_costs_one_short_timeout_then_nothing(settings):
    server = SilentServer()
    try:
        point_cache_at(settings, f"redis://127.0.0.1:{server.port}/0", recheck=60)
        started = time.monotonic()
        assert cache.get("voxdash:test:a") is None
        first = time.monotonic() - started
        results = [cache.get(f"voxdash:test:{n}") for n in range(100)]
        rest = time.monotonic() - started - first
    finally:
        server.close()
    print(f"\nhung Redis: first call {first * 1000:.0f} ms, next 100 calls {rest * 1000:.1f} ms")
    assert results == [None] * 100
    assert first < 3.0  # the read timeout is short (a default client would wait forever)
    assert server.accepted == 1  # the breaker: one attempt, then no socket at all until the recheck


def test_locmem_and_file_caches_are_unaffected(client, staff, vox_settings):
    # The tests' locmem cache (and the demo's file cache) know no outage: no banner.
    client.force_login(staff)
    assert shared_cache_outage() is None
    assert BANNER not in client.get(reverse("overview")).content.decode()


def test_production_cache_is_redis_with_the_fallback_only_when_configured(monkeypatch, tmp_path):
    monkeypatch.setenv("VOXDASH_VAR_DIR", str(tmp_path))
    demo = production_settings(monkeypatch)["CACHES"]["default"]
    assert demo["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
    shared = production_settings(monkeypatch, CELERY_BROKER_URL="redis://127.0.0.1:6379/0")["CACHES"][
        "default"
    ]
    assert shared["BACKEND"] == BACKEND
    assert shared["LOCATION"] == "redis://127.0.0.1:6379/0"
