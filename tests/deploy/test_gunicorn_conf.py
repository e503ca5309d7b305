"""gunicorn.conf.py's logger: gunicorn's own lines name a request's URI; the query string (search
terms are customers' names) must not reach the log. gunicorn itself is run in test_slow_vox.py.

Its worker settings: the default class and threads, strict values, and (a real gunicorn, a real
simulator with latency) that a page waiting on Vox does not hold up a page that does not."""

import logging
import os
import re
import runpy
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gunicorn.config import Config

from tests.deploy.test_slow_vox import Site, environment, free_port
from vox_simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent.parent
CONF = runpy.run_path(str(ROOT / "gunicorn.conf.py"))


@pytest.fixture
def gunicorn_log(tmp_path):
    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    cfg.set("accesslog", str(tmp_path / "access.log"))
    log = CONF["logger_class"](cfg)
    yield log, tmp_path
    for name in ("gunicorn.error", "gunicorn.access"):  # leave logging as it was for other tests
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.filters.clear()


def test_error_lines_and_tracebacks_lose_their_query_strings(gunicorn_log):
    log, folder = gunicorn_log
    try:
        raise ValueError("cannot route /calls/?search=Ada+Lovelace&phone=0801")
    except ValueError:
        # What gunicorn's worker logs when a request fails or the worker is aborted mid-request.
        log.exception("Error handling request %s %s", "GET", "/calls/?search=Ada+Lovelace")
    log.warning(
        "Invalid request from ip=127.0.0.1: Invalid HTTP request line: "
        "'GET /calls/?search=Ada Lovelace HTTP/1.1 x'"
    )
    log.info("Booting worker with pid: %s", 42)
    text = (folder / "error.log").read_text()
    assert "Error handling request GET /calls/?[query removed]" in text
    assert "ValueError: cannot route /calls/?[query removed]" in text
    assert "Invalid HTTP request line: 'GET /calls/?[query removed] HTTP/1.1 x'" in text
    assert "Booting worker with pid: 42" in text  # other lines as they were
    assert 'raise ValueError("cannot route' in text  # the traceback's code lines are program text
    logged = "\n".join(line for line in text.splitlines() if not line[:1].isspace())
    for secret in ("Ada", "Lovelace", "0801", "search="):
        assert secret not in logged


def test_the_access_log_loses_query_strings_too(gunicorn_log):
    log, folder = gunicorn_log
    atoms = {"h": "127.0.0.1", "r": "GET /calls/?search=Ada HTTP/1.1", "s": 200}
    log.access_log.info('%(h)s "%(r)s" %(s)s', atoms)  # as gunicorn's Logger.access() does
    line = (folder / "access.log").read_text().strip()
    assert line == '127.0.0.1 "GET /calls/?[query removed] HTTP/1.1" 200'


def test_setting_up_again_does_not_stack_filters(gunicorn_log):
    log, _ = gunicorn_log
    log.setup(log.cfg)  # what a reload (SIGHUP) does
    assert len(log.error_log.filters) == len(log.access_log.filters) == 1


def test_no_shared_control_socket_unless_asked_for(monkeypatch):
    # Two gunicorns of one user (two deployments, or a test beside the service) would otherwise
    # share $HOME/.gunicorn/gunicorn.ctl, the second taking the first one's over.
    assert CONF["control_socket_disable"] is True
    monkeypatch.setenv("GUNICORN_CONTROL_SOCKET", "/run/voxdash/gunicorn.ctl")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["control_socket_disable"] is False
    assert conf["control_socket"] == "/run/voxdash/gunicorn.ctl"


def _conf(monkeypatch, **env: str) -> dict:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_the_default_is_gthread_workers_with_threads(monkeypatch):
    for name in ("GUNICORN_WORKER_CLASS", "WEB_CONCURRENCY", "GUNICORN_THREADS", "PORT", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    conf = _conf(monkeypatch)
    # The figures measured in docs/benchmarks.md ("gunicorn: sync workers or gthread threads").
    assert (conf["worker_class"], conf["workers"], conf["threads"]) == ("gthread", 3, 8)
    assert conf["threads"] > 1 and conf["bind"] == "0.0.0.0:8000" and conf["timeout"] == 60
    sync = _conf(monkeypatch, GUNICORN_WORKER_CLASS="sync", WEB_CONCURRENCY="5")
    assert (sync["worker_class"], sync["workers"], sync["threads"]) == ("sync", 5, 1)


def test_the_workers_heartbeat_file_is_in_memory(monkeypatch):
    # A Linux host has /dev/shm (a tmpfs); elsewhere (macOS) gunicorn's default folder stays.
    assert CONF["worker_tmp_dir"] == ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    assert Config().worker_tmp_dir is None  # gunicorn's own default: the temporary folder
    monkeypatch.setattr("os.path.isdir", lambda path: False)
    assert _conf(monkeypatch)["worker_tmp_dir"] is None


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("GUNICORN_WORKER_CLASS", "gevent", "GUNICORN_WORKER_CLASS='gevent' is not one of gthread, sync"),
        ("WEB_CONCURRENCY", "three", "WEB_CONCURRENCY='three' is not a whole number of at least 1"),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY='0' is not a whole number of at least 1"),
        ("GUNICORN_THREADS", "-2", "GUNICORN_THREADS='-2' is not a whole number of at least 1"),
        ("GUNICORN_TIMEOUT", "1.5", "GUNICORN_TIMEOUT='1.5' is not a whole number of at least 1"),
        ("PORT", "http", "PORT='http' is not a whole number of at least 1"),
    ],
)
def test_a_bad_value_stops_the_start_with_its_name(monkeypatch, name, value, message):
    with pytest.raises(SystemExit, match=re.escape(message)):
        _conf(monkeypatch, **{name: value})


def test_sync_with_threads_is_refused_not_silently_gthread(monkeypatch):
    # gunicorn itself would quietly run gthread; the operator asked for sync.
    with pytest.raises(SystemExit, match="GUNICORN_THREADS=4 needs GUNICORN_WORKER_CLASS=gthread"):
        _conf(monkeypatch, GUNICORN_WORKER_CLASS="sync", GUNICORN_THREADS="4")


# --- The chosen worker class, for real: a page waiting on Vox must not hold up a page that does
# not. One worker process, so the only concurrency is the worker class's own (several processes
# would hide a blocking class behind each other); the same with sync shows the test can fail.
# The slow pages really wait this long (their deadline is set above it): long enough that a fast
# page answered meanwhile is told apart from one queued behind them on a loaded machine.
SLOW_VOX_MS = 1800


# The database, one call in the mirror and a Viewer's session (printed: the session, then the
# call's id). No sync and no password: what the sites need, at the least cost.
SETUP = """
import django
django.setup()
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from voxdash.calls.models import Call
call_command("migrate", verbosity=0)
user = User.objects.create_user("viewer")
user.groups.add(Group.objects.get(name="Viewers"))
call = Call.objects.create(
    vox_id="call-worker-class", direction="outbound", status="completed",
    customer_phone="+2348031234560", created_at=timezone.now(),
)
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
print(call.vox_id)
"""


def set_up(env: dict) -> list[str]:
    """Run SETUP with the site's environment; the lines it printed last (session, call id)."""
    setup = subprocess.run(
        [sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert setup.returncode == 0, setup.stderr
    return setup.stdout.strip().splitlines()[-2:]


@pytest.fixture(scope="module")
def vox_with_latency():
    sim = Simulator(port=0, seed=1, calls=60, lifecycle_step_seconds=None, rate_limit=None)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def one_worker_sites(tmp_path_factory, vox_with_latency):
    """One gunicorn of the default class and threads, and one sync, on one database and session."""
    var_dir = tmp_path_factory.mktemp("worker-class")
    extra = {
        "WEB_CONCURRENCY": "1",
        "VOX_REQUESTS_PER_MINUTE": "0",
        "VOX_LIST_CACHE_SECONDS": "0",
        "VOX_INTERACTIVE_DEADLINE": "4",
        "VOX_READ_TIMEOUT": "3",
    }
    env = environment(var_dir, vox_with_latency, PORT=str(free_port()), **extra)
    session, call_id = set_up(env)
    sync_env = {**env, "GUNICORN_WORKER_CLASS": "sync", "PORT": str(free_port())}
    with ThreadPoolExecutor() as pool:  # both boot at once
        booting = [
            pool.submit(Site, env, session, var_dir / "gunicorn-default.log"),
            pool.submit(Site, sync_env, session, var_dir / "gunicorn-sync.log"),
        ]
        sites = {"default": booting[0].result(), "sync": booting[1].result()}
    fast_path = f"/calls/{call_id}/"
    # The header's connection check, cached for a minute in the sites' shared cache: asked now,
    # while Vox is quick, so that below only the history pages wait on Vox.
    assert sites["default"].get(fast_path).status_code == 200
    vox_with_latency.faults.latency_ms = SLOW_VOX_MS
    yield sites, fast_path
    vox_with_latency.faults.latency_ms = 0
    with ThreadPoolExecutor() as pool:
        list(pool.map(Site.stop, sites.values()))


def fast_page_while_slow_ones_wait(site: Site, fast_path: str, slow_pages: int) -> tuple[float, list[float]]:
    """Start `slow_pages` history pages (each waits on Vox), then the call's page (the mirror
    only) once they are in; returns when the fast page finished and when each slow one did."""
    started = time.monotonic()
    slow_done: list[float] = []

    def slow() -> None:
        assert site.get("/calls/").status_code == 200
        slow_done.append(time.monotonic() - started)

    threads = [threading.Thread(target=slow) for _ in range(slow_pages)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # they are all inside gunicorn now, waiting on Vox
    response = site.get(fast_path)
    fast_done = time.monotonic() - started
    assert response.status_code == 200
    for thread in threads:
        thread.join()
    return fast_done, slow_done


def test_a_page_waiting_on_vox_does_not_hold_up_a_fast_one(one_worker_sites):
    sites, fast_path = one_worker_sites
    threads = CONF["threads"]
    fast_done, slow_done = fast_page_while_slow_ones_wait(sites["default"], fast_path, threads - 1)
    # All the slow pages waited on Vox at once (threads, not one after the other), and the fast one
    # was answered while every one of them was still waiting.
    assert len(slow_done) == threads - 1, slow_done
    assert SLOW_VOX_MS / 1000 < min(slow_done) and max(slow_done) < 2 * SLOW_VOX_MS / 1000, slow_done
    assert fast_done < min(slow_done), (fast_done, slow_done)


def test_a_sync_worker_does_hold_it_up(one_worker_sites):
    """The control: the same with sync, one request at a time. Were this not so, the test above
    would prove nothing."""
    sites, fast_path = one_worker_sites
    fast_done, slow_done = fast_page_while_slow_ones_wait(sites["sync"], fast_path, 1)
    assert fast_done > min(slow_done) > SLOW_VOX_MS / 1000, (fast_done, slow_done)
