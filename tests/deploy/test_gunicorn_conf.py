"""gunicorn.conf.py's logger: gunicorn's own lines name a request's URI; the query string (search
terms are customers' names) must not reach the log. gunicorn itself is run in test_slow_vox.py."""

import logging
import runpy
from pathlib import Path

import pytest
from gunicorn.config import Config

CONF = runpy.run_path(str(Path(__file__).resolve().parent.parent.parent / "gunicorn.conf.py"))


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
    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent.parent / "gunicorn.conf.py"))
    assert conf["control_socket_disable"] is False
    assert conf["control_socket"] == "/run/voxdash/gunicorn.ctl"
