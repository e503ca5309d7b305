"""Every database connection killed under a running gunicorn: the next pages are 200s, not 500s.

gunicorn with production settings and gunicorn.conf.py's worker class (several workers, several
threads each) on a PostgreSQL database of its own. Each thread keeps its connection between
requests (CONN_MAX_AGE=60); `pg_terminate_backend` ends every one of them, as a database restart,
a failover or an idle-connection killer in front of PostgreSQL would. With CONN_HEALTH_CHECKS
each thread finds its connection dead before reusing it and opens a new one; without them the
first request of every thread is a 500 (seen when this was written: settings' conn_health_checks
turned off, 6 of 6 threads failed once each).

Runs in the PostgreSQL pass (scripts/test-postgres); its server is DATABASE_URL's there.
"""

import os
import secrets
import threading
import time
from urllib.parse import urlparse

import psycopg
import pytest

from tests.deploy.test_gunicorn_conf import set_up
from tests.deploy.test_slow_vox import Site, environment, free_port
from vox_simulator import Simulator

pytestmark = pytest.mark.postgres

WORKERS, THREADS = 2, 3
LATENCY_MS = 300  # each page holds its thread this long, so concurrent pages spread over the threads
ROUNDS = 12  # at most, to see every thread at work (they usually all are within two or three)


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/voxdash"


@pytest.fixture(scope="module")
def database():
    """A database of this test's own on the PostgreSQL server, dropped afterwards."""
    server = _server_url().rsplit("/", 1)[0]
    name = f"voxdash_gunicorn_reconnect_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def simulator():
    sim = Simulator(port=0, seed=1, calls=120, lifecycle_step_seconds=None, rate_limit=None)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory, simulator, database):
    var_dir = tmp_path_factory.mktemp("reconnect")
    env = environment(
        var_dir,
        simulator,
        PORT=str(free_port()),
        DATABASE_URL=database,
        WEB_CONCURRENCY=str(WORKERS),
        GUNICORN_THREADS=str(THREADS),
        VOX_REQUESTS_PER_MINUTE="0",  # the pages below ask Vox many times a minute
        VOX_LIST_CACHE_SECONDS="0",
    )
    session, _ = set_up(env)
    site = Site(env, session, var_dir / "gunicorn.log")
    simulator.faults.latency_ms = LATENCY_MS
    yield site
    simulator.faults.latency_ms = 0
    site.stop()


def server_connections(database: str) -> list[int]:
    """The backends connected to the site's database (this query's own left out)."""
    name = urlparse(database).path.lstrip("/")
    with psycopg.connect(database.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
        ).fetchall()
    return [pid for (pid,) in rows]


def concurrent_pages(site: Site, count: int) -> list[int]:
    """`count` history pages at once (each waits on Vox, so each holds a thread); their statuses."""
    statuses: list[int] = []

    def visit() -> None:
        statuses.append(site.get("/calls/").status_code)

    threads = [threading.Thread(target=visit) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def until_every_thread_has_a_connection(site: Site, database: str) -> list[int]:
    """Rounds of concurrent pages until every worker thread holds a connection; all statuses."""
    statuses: list[int] = []
    for _ in range(ROUNDS):
        statuses += concurrent_pages(site, WORKERS * THREADS + 2)
        if len(server_connections(database)) >= WORKERS * THREADS:
            return statuses
    pytest.fail(
        f"only {len(server_connections(database))} of {WORKERS * THREADS} threads held a connection "
        f"after {ROUNDS} rounds of pages ({statuses})"
    )


def test_pages_after_every_connection_was_killed_are_200(site, database):
    warm = until_every_thread_has_a_connection(site, database)
    assert set(warm) == {200}
    killed = server_connections(database)
    assert len(killed) == WORKERS * THREADS  # one kept connection a thread, the precondition

    name = urlparse(database).path.lstrip("/")
    with psycopg.connect(database.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
    deadline = time.monotonic() + 10
    while set(server_connections(database)) & set(killed):
        assert time.monotonic() < deadline, "the backends did not end"
        time.sleep(0.05)

    # Every thread serves again (each had a dead connection to find), and nobody sees an error.
    after = until_every_thread_has_a_connection(site, database)
    assert after.count(500) == 0 and set(after) == {200}, after
    assert not set(server_connections(database)) & set(killed)  # new connections, not the old ones
    log = site.log()
    assert "terminating connection" not in log and "Internal Server Error" not in log, log
