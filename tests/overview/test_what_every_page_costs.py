"""What every signed-in page pays before its own content, counted (not timed) on the production
cache (FallbackRedisCache on a redis-server of the test's own): the middleware, the session, the
user, the header's connection status and menu.

The password page has no content of its own to read (a form of three empty fields), so what it
costs is what every page costs. Each saving behind these figures has its own test:
sessions (tests/accounts/test_sessions.py), permissions (tests/accounts/test_roles.py), the
cache's Redis client (tests/lib/test_cache.py), the menu's links (tests/overview/test_menu.py).
"""

import pytest
import redis
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

PAGE = reverse("account_change_password")


@pytest.fixture
def redis_commands(vox_settings, own_redis, monkeypatch):
    """Every command the page sends to Redis (one round trip each; pipelines count once)."""
    vox_settings.CACHES = {
        "default": {"BACKEND": "voxdash.lib.cache.FallbackRedisCache", "LOCATION": own_redis.url}
    }
    sent: list[str] = []
    original = redis.Redis.execute_command

    def counted(self, *args, **options):
        sent.append(str(args[0]))
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    return sent


def test_a_viewer_s_page_costs_one_query_and_one_redis_round_trip(client, viewer, redis_commands):
    client.force_login(viewer)
    for _ in range(2):  # the first page keeps the time zone in the session, and the header's status
        assert client.get(PAGE).status_code == 200
    redis_commands.clear()
    with CaptureQueriesContext(connection) as page:
        assert client.get(PAGE).status_code == 200
    # The user (Django's auth, by primary key): the session comes from Redis, the permissions
    # from this process's memory.
    assert [q["sql"].split(" FROM ")[1].split()[0] for q in page.captured_queries] == ['"auth_user"']
    # The session. The header's connection status comes from this process's memory (it keeps
    # the shared answer a few seconds: lib.caching's kept_here).
    assert redis_commands == ["GET"]


def test_a_staff_page_costs_the_same(client, db, redis_commands):
    # Staff see more: the Admin link, the menu's staff entries and its count of open alerts,
    # which comes from this process's memory as the connection status does.
    client.force_login(User.objects.create_user("stan", password="pw-stan-123", is_staff=True))
    for _ in range(2):
        body = client.get(PAGE).content.decode()
    assert ">Alerts</a>" in body  # the staff menu is on the page, with nothing open
    redis_commands.clear()
    with CaptureQueriesContext(connection) as page:
        assert client.get(PAGE).status_code == 200
    assert [q["sql"].split(" FROM ")[1].split()[0] for q in page.captured_queries] == ['"auth_user"']
    assert redis_commands == ["GET"]
