"""Sessions from the shared cache, the database their truth (voxdash.accounts.sessions).

Real components: a redis-server of the test's own (tests/fixtures/redis_server.py) behind the
project's FallbackRedisCache, as production configures it.
"""

import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from voxdash.accounts import sessions

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

PAGE = reverse("placements:list")  # the mirror only: no Vox request to wait on
RECHECK = 0.5  # seconds the cache backend leaves a failed Redis alone


@pytest.fixture
def shared_cache(vox_settings, own_redis):
    vox_settings.CACHES = {
        "default": {
            "BACKEND": "voxdash.lib.cache.FallbackRedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {"RECHECK_AFTER": RECHECK},
        }
    }
    return own_redis


def session_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "django_session" in q["sql"]]


def signed_in_twice(client: Client) -> Client:
    """The same session from another browser tab, another gunicorn worker: the same cookie."""
    other = Client()
    other.cookies = client.cookies
    return other


def test_the_next_page_reads_the_session_from_the_cache(client, shared_cache, viewer):
    client.force_login(viewer)
    assert client.get(PAGE).status_code == 200  # the first page keeps the time zone in it (once)
    for _ in range(2):
        with CaptureQueriesContext(connection) as page:
            assert client.get(PAGE).status_code == 200
        assert session_queries(page.captured_queries) == []
    assert shared_cache.client().keys("*sessions.cached_db*")


def test_a_sign_out_is_seen_at_once_everywhere(client, shared_cache, viewer):
    client.force_login(viewer)
    other = signed_in_twice(client)
    assert other.get(PAGE).status_code == 200
    client.post(reverse("logout"))
    assert other.get(PAGE).status_code == 302  # to the login page


def test_while_redis_is_down_sessions_come_from_the_database(client, shared_cache, viewer):
    client.force_login(viewer)
    other = signed_in_twice(client)
    shared_cache.kill()
    assert client.get(PAGE).status_code == 200  # still signed in
    with CaptureQueriesContext(connection) as page:
        assert other.get(PAGE).status_code == 200
    assert len(session_queries(page.captured_queries)) == 1
    client.post(reverse("logout"))
    assert other.get(PAGE).status_code == 302


def test_a_sign_out_while_redis_hangs_is_undone_for_at_most_the_cached_time(
    client, shared_cache, viewer, monkeypatch
):
    monkeypatch.setattr(sessions, "SESSION_CACHED_SECONDS", 2)
    client.force_login(viewer)  # cached now, for 2 s
    cached_at = time.monotonic()
    other = signed_in_twice(client)
    shared_cache.freeze()  # Redis keeps its copy of the session but answers nothing
    client.post(reverse("logout"))  # from the database, while the cache is known to be down
    assert other.get(PAGE).status_code == 302
    shared_cache.thaw()
    time.sleep(RECHECK + 0.1)  # Redis is asked again
    # Redis's copy may still be served until its lifetime ends (bounded, not asserted either way),
    # and never after:
    time.sleep(max(0.0, cached_at + 2.2 - time.monotonic()))
    assert other.get(PAGE).status_code == 302
