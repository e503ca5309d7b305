"""The PostgreSQL backend's health check (voxdash.lib.postgresql): it asks the connection's socket,
not the server, and still finds a connection the server has ended. The whole story, gunicorn
threads and every connection killed, is tests/deploy/test_database_reconnect.py.

Runs in the PostgreSQL pass (scripts/test-postgres)."""

import time

import psycopg
import pytest
from django.db import connection, connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def kept():
    """A connection of its own, as a gunicorn thread keeps one between requests."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://…")
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def test_a_healthy_kept_connection_is_usable_without_a_query(kept, monkeypatch):
    def no_query(*args, **kwargs):
        raise AssertionError("the health check sent a query")

    monkeypatch.setattr(kept.connection, "cursor", no_query)
    monkeypatch.setattr(kept.connection, "execute", no_query)
    assert kept.is_usable() is True


def test_a_connection_the_server_ended_is_not_usable_and_is_replaced(kept):
    pid = kept.connection.info.backend_pid
    with psycopg.connect(**kept.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while kept.is_usable() and time.monotonic() < deadline:
        time.sleep(0.01)  # the server's goodbye reaches the socket a moment later
    assert kept.is_usable() is False
    # What Django does before a request reuses it (CONN_HEALTH_CHECKS): closed, and a new one made.
    kept.health_check_enabled, kept.health_check_done = True, False
    kept.close_if_health_check_failed()
    assert kept.connection is None
    with kept.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
