"""gunicorn settings for the web process (`make run-web`; gunicorn reads ./gunicorn.conf.py itself).

Environment: PORT (8000), GUNICORN_WORKER_CLASS (gthread), WEB_CONCURRENCY (3 workers),
GUNICORN_THREADS (8 a worker), GUNICORN_TIMEOUT (60 s), GUNICORN_CONTROL_SOCKET, FORWARDED_ALLOW_IPS (the
proxy's addresses; gunicorn's default is 127.0.0.1), VOXDASH_URL_PREFIX. A bad value stops the start
with the variable's name, as voxdash's settings do.
"""

import logging
import os
import re

from gunicorn.glogging import Logger


def _whole_number(name: str, default: int, least: int) -> int:
    """A whole number from the environment, at least `least`. (voxdash.settings' env_int is the
    same rule, but importing that module configures all of Django, which this file must not.)"""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < least:
        raise SystemExit(f"{name}={value!r} is not a whole number of at least {least}.")
    return int(value)


WORKER_CLASSES = ("gthread", "sync")

bind = f"0.0.0.0:{_whole_number('PORT', 8000, 1)}"
# gthread, 3 workers x 8 threads, by measurement (docs/benchmarks.md, "gunicorn: sync workers or
# gthread threads"; 2 cores, PostgreSQL, Redis). A sync worker is a whole process held by each page
# waiting on Vox: with Vox answering in 2 s and 8 clients, half of them on the history page, a page
# that reads only the mirror took 2.1 s (p50) behind 3 sync workers and 0.11 s with 3x8 threads;
# with 24 clients 6.7 s against 0.38 s. At the same memory (PSS 217 MiB for 3 sync workers, 238 for
# 3x8) gthread served 3.6x the history pages and 29x the fast ones. The threads share each
# process's GIL, which costs little here: a page mostly waits (on Vox, on PostgreSQL). What holds
# a thread holds one database connection (CONN_MAX_AGE): 24 a host, see README's DATABASE_URL.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread").strip() or "gthread"
if worker_class not in WORKER_CLASSES:
    raise SystemExit(f"GUNICORN_WORKER_CLASS={worker_class!r} is not one of {', '.join(WORKER_CLASSES)}.")
workers = _whole_number("WEB_CONCURRENCY", 3, 1)
if worker_class == "gthread":
    threads = _whole_number("GUNICORN_THREADS", 8, 1)
else:
    # gunicorn would quietly run a sync worker with threads as gthread: the operator asked for sync.
    threads = _whole_number("GUNICORN_THREADS", 1, 1)
    if threads > 1:
        raise SystemExit(
            f"GUNICORN_THREADS={threads} needs GUNICORN_WORKER_CLASS=gthread (sync runs one request a worker)."
        )
# A page's requests to Vox share one VOX_INTERACTIVE_DEADLINE (4 s) in all, retries included; the
# rest is for the database (a long CSV export streams from the mirror). Longer is a stuck worker.
# With gthread the timeout watches each worker's main loop, which answers gunicorn while its
# threads work: a request that runs long holds its thread, not the worker, and is not aborted
# (the deadline bounds what a page waits for Vox; sync workers are aborted after this long).
timeout = _whole_number("GUNICORN_TIMEOUT", 60, 1)
graceful_timeout = 30
# Each worker touches a heartbeat file (its arbiter watches it) on every turn of its loop, that
# is on every request: in the default temporary folder, often on disk, each touch is a journaled
# metadata write; on tmpfs, a write to memory. gunicorn's documentation recommends /dev/shm, which
# Linux hosts, Docker containers and systemd services all have (docs/benchmarks.md, issue 15).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Workers load the app after forking: a failing import shows in each worker's log, and the
# database connections and Vox client are never shared between processes.
preload_app = False
# voxdash logs every request itself (method, path, status, duration, user, request id); gunicorn's
# access log would print each one twice, with the query string (search terms are customers' names).
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Served under a prefix (README "Serving under a URL prefix"): the proxy passes the full path,
# /voxdash/calls/, and gunicorn moves the prefix from PATH_INFO to SCRIPT_NAME. A proxy that strips
# the prefix itself needs SCRIPT_NAME set to empty instead.
_prefix = os.environ.get("VOXDASH_URL_PREFIX", "").strip().strip("/")
if _prefix:
    os.environ.setdefault("SCRIPT_NAME", f"/{_prefix}")


# --- No query string in any of gunicorn's own lines either. It names the request's URI, query
# included, in "Error handling request GET /calls/?search=..." (a worker aborted mid-request, e.g.
# on its timeout), in "Invalid request from ip=...: Invalid HTTP request line: '...'" and in the
# access log's request line, should one be turned on.

# From "?" to the end of the URI: before " HTTP/", a quote, or the end of the line (an invalid
# request line may hold raw spaces, so a space alone does not end it).
_QUERY = re.compile(r"\?.*?(?=\sHTTP/|['\"]|$)", re.MULTILINE)


def without_query_strings(text: str) -> str:
    """Drop query strings from log text, but not from a traceback's indented code lines (program
    text, never a request's): only unindented lines, the message and the exception's own, are
    read."""
    return "\n".join(
        line if line[:1].isspace() else _QUERY.sub("?[query removed]", line) for line in text.split("\n")
    )


class _DropQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = without_query_strings(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is written cleaned too.
            record.exc_text = without_query_strings(logging.Formatter().formatException(record.exc_info))
        return True


class QueryFreeLogger(Logger):
    """gunicorn's logger, with query strings dropped from every error and access log line."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):  # setup runs again on each reload (SIGHUP)
            if not any(isinstance(f, _DropQueryStrings) for f in log.filters):
                log.addFilter(_DropQueryStrings())


logger_class = QueryFreeLogger

# gunicorn 27's control socket defaults to one per-user path ($XDG_RUNTIME_DIR or ~/.gunicorn/
# gunicorn.ctl), shared by every gunicorn that user runs: a second deployment (or a test) on the
# same host would take over the first one's. voxdash does not use it; GUNICORN_CONTROL_SOCKET
# names a path of this deployment's own to turn it on.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
